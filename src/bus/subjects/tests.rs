//! Round trips of every subject family, and the subjects the parsers must refuse.

use super::*;

/// Operations of the bus's own, so these tests hold whatever the real list (`crate::api`) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    SettingsGet,
    SettingsPut,
    SessionsCreate,
}

impl PublicOperation for Op {
    const ALL: &'static [Self] = &[Self::SettingsGet, Self::SettingsPut, Self::SessionsCreate];

    fn tokens(self) -> (&'static str, &'static str) {
        match self {
            Self::SettingsGet => ("settings", "get"),
            Self::SettingsPut => ("settings", "put"),
            Self::SessionsCreate => ("widget-sessions", "create"),
        }
    }
}

#[test]
fn every_public_subject_round_trips() {
    let org = OrgId::parse("org_2abc").unwrap();
    for &op in Op::ALL {
        let subject = public(&org, op);
        assert_eq!(parse_public(&subject).unwrap(), (org.clone(), op));
    }
}

#[test]
fn public_subjects_name_the_org_and_the_operation_tokens() {
    let org = OrgId::parse("org_a").unwrap();
    assert_eq!(public(&org, Op::SettingsGet), "assist.v1.public.org_a.settings.get");
    assert_eq!(public(&org, Op::SessionsCreate), "assist.v1.public.org_a.widget-sessions.create");
    assert_eq!(public_pattern(Op::SettingsPut), "assist.v1.public.<org>.settings.put");
}

#[test]
fn event_subjects_round_trip_with_their_org() {
    let org = OrgId::parse("org_a").unwrap();
    let subject = event(&org, "message", "created");
    assert_eq!(subject, "assist.v1.events.org_a.message.created");
    assert_eq!(parse_event(&subject).unwrap(), (org.clone(), "message", "created"));
    assert!(parse_event("assist.v1.events.org_a.message").is_err());
    assert!(parse_event("assist.v1.events.org_a.message.created.extra").is_err());
    assert!(parse_event("assist.v1.public.org_a.message.created").is_err());
    assert!(parse_event("assist.v1.events.org a.message.created").is_err());
    assert_eq!(events_of(&org), "assist.v1.events.org_a.>");
}

#[test]
fn private_ai_subjects_round_trip() {
    let org = OrgId::parse("org_a").unwrap();
    for verb in AiVerb::ALL {
        assert_eq!(parse_private_ai(&private_ai(&org, verb)).unwrap(), (org.clone(), verb));
    }
    assert_eq!(private_ai(&org, AiVerb::Embed), "assist.v1.private.org_a.ai.embed");
    assert!(parse_private_ai("assist.v1.private.org_a.ai.everything").is_err());
    assert!(parse_private_ai("assist.v1.private.org_a.vapi.embed").is_err());
}

#[test]
fn private_vapi_subjects_round_trip() {
    let org = OrgId::parse("org_a").unwrap();
    for verb in VapiVerb::ALL {
        assert_eq!(parse_private_vapi(&private_vapi(&org, verb)).unwrap(), (org.clone(), verb));
    }
    assert_eq!(private_vapi(&org, VapiVerb::PhoneNumbers), "assist.v1.private.org_a.vapi.phone-numbers");
    assert!(parse_private_vapi("assist.v1.private.org_a.vapi.delete-everything").is_err());
    assert!(parse_private_vapi("assist.v1.private.org_a.other.assistants").is_err());
}

#[test]
fn system_subjects_round_trip_and_refuse_unsafe_types() {
    let subject = system(Source::Clerk, "organizationMembership.created").unwrap();
    assert_eq!(subject, "assist.v1.system.clerk.organizationMembership.created");
    assert_eq!(parse_system(&subject).unwrap(), Source::Clerk);
    assert_eq!(parse_system(&system(Source::Vapi, "status-update").unwrap()).unwrap(), Source::Vapi);
    for bad in ["", "a..b", "a.*", "a.>", "a b", "x.y.z.w.v"] {
        assert!(system(Source::Clerk, bad).is_err(), "{bad}");
    }
    assert!(parse_system("assist.v1.system.deadletter.clerk").is_err());
}

#[test]
fn admin_subjects_round_trip() {
    let node = NodeId::parse("web-1").unwrap();
    for target in [AdminTarget::Node(node.clone()), AdminTarget::All] {
        assert_eq!(parse_admin(&admin(&target, AdminVerb::Tree)).unwrap(), (target, AdminVerb::Tree));
    }
    assert_eq!(admin(&AdminTarget::All, AdminVerb::Tree), "assist.v1.admin.all.tree");
    assert_eq!(admin_inbox(&node), ["assist.v1.admin.web-1.>", "assist.v1.admin.all.>"]);
    for bad in ["assist.v1.admin.web-1", "assist.v1.admin.web-1.tree.x", "assist.v1.admin.web-1.nuke"] {
        assert!(parse_admin(bad).is_err(), "{bad}");
    }
}

#[test]
fn malformed_subjects_are_refused() {
    for bad in [
        "assist.v1.public",
        "assist.v1.public.org_a.settings",
        "assist.v1.public.org_a.settings.get.extra",
        "assist.v1.private.org_a.settings.get",
        "assist.v1.public..settings.get",
        "assist.v1.public.org_a.nothing.get",
        "assist.v1.publicorg_a.settings.get",
    ] {
        assert!(parse_public::<Op>(bad).is_err(), "{bad}");
    }
}

/// What nats-server's mapping makes of `subject` for partition `p`.
fn mapped(partition: u16, subject: &str) -> Option<String> {
    Some(format!("assist.v1.partition.{partition}.{}", subject.strip_prefix("assist.v1.")?))
}

#[test]
fn partitioned_subjects_round_trip() {
    let org = OrgId::parse("org_a").unwrap();
    for &op in Op::ALL {
        let subject = mapped(9, &public(&org, op)).unwrap();
        assert_eq!(parse_partitioned(&subject).unwrap(), (9, Routed::Public(org.clone(), op)));
    }
    let apply = mapped(3, &owner(&org, OwnerVerb::Apply)).unwrap();
    assert_eq!(apply, "assist.v1.partition.3.owner.org_a.apply");
    assert_eq!(parse_partitioned::<Op>(&apply).unwrap(), (3, Routed::Owner(org.clone(), OwnerVerb::Apply)));
    assert_eq!(partition_inbox(3), "assist.v1.partition.3.>");
    for bad in [
        "assist.v1.partition.x.owner.org_a.apply",
        "assist.v1.partition.3.owner.org_a.drop",
        "assist.v1.partition.3",
    ] {
        assert!(parse_partitioned::<Op>(bad).is_err(), "{bad}");
    }
}

#[test]
fn partitions_follow_nats_fnv1a() {
    // Values read off nats-server 2.15 with `{{partition(16,1)}}`.
    for (org, expected) in [("org_a", 9), ("org_b", 0), ("acme", 15), ("org_2abc", 0)] {
        assert_eq!(partition_of(&OrgId::parse(org).unwrap(), 16), expected, "{org}");
    }
}
