//! Clerk and Vapi deliveries, as recorded in `tests/fixtures`, read into typed events. The
//! fixtures follow the senders' documented examples (and the fields real payloads add), so a
//! change in what assist reads shows up here before it shows up in production.

use std::path::{Path, PathBuf};

use assist::ids::OrgId;
use assist::webhooks::SvixVerifier;
use assist::webhooks::clerk::{self, ClerkEvent, ClerkSubscription, SubscriptionStatus};
use assist::webhooks::vapi::{self, EndOfCallReport, VapiEvent};

const ACME: &str = "org_2pLkAcme000000000000001";
const SESSION: &str = "cs_01JBXK7QW2R8M4N6P9T3V5Y7Z0";

fn fixtures(sender: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(sender)
}

fn fixture(sender: &str, name: &str) -> Vec<u8> {
    let path = fixtures(sender).join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn every_fixture(sender: &str) -> Vec<(String, Vec<u8>)> {
    let entries = std::fs::read_dir(fixtures(sender)).expect("the fixture folder exists");
    let mut files: Vec<_> = entries
        .map(|entry| entry.expect("a readable fixture folder").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| (path.display().to_string(), std::fs::read(&path).expect("a readable fixture")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures for {sender}");
    files
}

fn clerk_event(name: &str) -> ClerkEvent {
    clerk::parse(&fixture("clerk", name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn subscription(name: &str) -> ClerkSubscription {
    match clerk_event(name) {
        ClerkEvent::Subscription(sub) | ClerkEvent::SubscriptionItem(sub) => sub,
        other => panic!("{name}: not a subscription: {other:?}"),
    }
}

fn vapi_event(name: &str) -> VapiEvent {
    vapi::parse(&fixture("vapi", name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn report(name: &str) -> EndOfCallReport {
    match vapi_event(name) {
        VapiEvent::EndOfCallReport(report) => report,
        other => panic!("{name}: not an end-of-call report: {other:?}"),
    }
}

fn acme() -> OrgId {
    OrgId::parse(ACME).expect("a valid org id")
}

#[test]
fn every_clerk_fixture_parses() {
    for (path, body) in every_fixture("clerk") {
        if let Err(err) = clerk::parse(&body) {
            panic!("{path}: {err}");
        }
    }
}

#[test]
fn a_created_user_carries_the_primary_email_address() {
    let ClerkEvent::UserUpserted(user) = clerk_event("user.created") else { panic!("not a user") };
    assert_eq!(user.id, "user_2pLkAda0000000000000001");
    assert_eq!(user.first_name.as_deref(), Some("Ada"));
    assert_eq!(user.last_name, None);
    assert_eq!(user.image_url.as_deref(), Some("https://img.clerk.com/eyJ0eXBlIjoicHJveHkifQ"));
    assert_eq!(user.primary_email.as_deref(), Some("ada@example.com"));
    assert_eq!(user.updated_at, Some(1_761_990_000_000), "the version late retries are compared by");
}

#[test]
fn an_updated_user_is_an_upsert_like_a_created_one() {
    let ClerkEvent::UserUpserted(user) = clerk_event("user.updated") else { panic!("not a user") };
    assert_eq!(user.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(user.updated_at, Some(1_762_000_000_000));
}

#[test]
fn a_deleted_user_carries_only_its_id() {
    let expected = ClerkEvent::UserDeleted { user_id: "user_2pLkAda0000000000000001".into() };
    assert_eq!(clerk_event("user.deleted"), expected);
}

#[test]
fn an_organization_carries_its_name_slug_and_member_count() {
    for (name, expected_name, count) in
        [("organization.created", "Acme", 1), ("organization.updated", "Acme Inc", 2)]
    {
        let ClerkEvent::OrganizationUpserted(org) = clerk_event(name) else { panic!("{name}: not an org") };
        assert_eq!(org.id, acme());
        assert_eq!(org.name, expected_name);
        assert_eq!(org.slug.as_deref(), Some("acme"));
        assert_eq!(org.members_count, Some(count));
    }
}

#[test]
fn a_deleted_organization_is_known_by_its_id() {
    assert_eq!(clerk_event("organization.deleted"), ClerkEvent::OrganizationDeleted { org: acme() });
}

#[test]
fn a_membership_names_its_organization_user_and_role() {
    for (name, role) in
        [("organizationMembership.created", "org:member"), ("organizationMembership.updated", "org:admin")]
    {
        let ClerkEvent::MembershipUpserted(membership) = clerk_event(name) else {
            panic!("{name}: not an upsert")
        };
        assert_eq!(membership.id, "orgmem_2pLkMem00000000000001");
        assert_eq!(membership.org, acme());
        assert_eq!(membership.user_id, "user_2pLkGrace000000000000002");
        assert_eq!(membership.role, role);
        assert_eq!(membership.updated_at, Some(1_762_000_000_000));
    }
}

#[test]
fn a_deleted_membership_still_carries_the_whole_membership() {
    let ClerkEvent::MembershipDeleted(membership) = clerk_event("organizationMembership.deleted") else {
        panic!("not a deleted membership")
    };
    assert_eq!((membership.org, membership.user_id.as_str()), (acme(), "user_2pLkGrace000000000000002"));
}

#[test]
fn a_subscription_paid_by_an_organization_names_it() {
    for name in ["subscription.created", "subscription.updated", "subscription.active"] {
        let sub = subscription(name);
        assert_eq!(sub.id, "csub_2pLkSub0000000000001", "{name}");
        assert_eq!(sub.org, Some(acme()), "{name}");
        assert_eq!(sub.event_kind, name);
        assert_eq!(sub.status, SubscriptionStatus::Active, "{name}");
        assert_eq!(sub.updated_at, Some(1_762_000_000_000), "{name}: Clerk's time of this version");
    }
}

#[test]
fn a_subscription_paid_by_a_user_has_no_org() {
    let sub = subscription("subscription.active.paid-by-user");
    assert_eq!(sub.org, None);
    assert_eq!(sub.plans, ["pro_user"]);
}

#[test]
fn a_subscription_lists_the_plans_of_its_items() {
    assert_eq!(subscription("subscription.created").plans, ["free_org"]);
    assert_eq!(subscription("subscription.updated").plans, ["free_org", "pro"]);
}

#[test]
fn both_past_due_spellings_mean_past_due() {
    for name in ["subscription.pastDue", "subscription.past_due", "subscriptionItem.pastDue"] {
        let sub = subscription(name);
        assert_eq!(sub.status, SubscriptionStatus::PastDue, "{name}");
        assert!(!SubscriptionStatus::pays(Some(sub.status.as_str())), "{name}: past due is not active");
    }
}

#[test]
fn an_item_event_is_filed_under_its_subscription() {
    for name in ["subscriptionItem.active", "subscriptionItem.freeTrialEnding"] {
        let ClerkEvent::SubscriptionItem(sub) = clerk_event(name) else {
            panic!("{name}: not an item event")
        };
        assert_eq!(sub.id, "csub_2pLkSub0000000000001");
        assert_eq!(sub.org, Some(acme()));
        assert_eq!(sub.plans, ["pro"]);
        assert_eq!(sub.event_kind, name);
    }
}

#[test]
fn unknown_event_types_are_kept_not_refused() {
    assert_eq!(clerk_event("session.created"), ClerkEvent::Unknown { kind: "session.created".into() });
}

#[test]
fn a_delivery_signed_like_svix_verifies_and_an_altered_one_does_not() {
    let verifier = SvixVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a valid secret");
    let now = 1_762_000_000;
    for (path, body) in every_fixture("clerk") {
        let signature = verifier.sign("msg_2pLkDelivery0001", now, &body);
        let timestamp = now.to_string();
        let verify = |body: &[u8]| {
            verifier.verify(Some("msg_2pLkDelivery0001"), Some(&timestamp), Some(&signature), body, now + 10)
        };
        assert!(verify(&body).is_ok(), "{path}");
        let mut altered = body.clone();
        altered.push(b' ');
        assert!(verify(&altered).is_err(), "{path}");
    }
}

#[test]
fn every_vapi_fixture_parses() {
    for (path, body) in every_fixture("vapi") {
        if let Err(err) = vapi::parse(&body) {
            panic!("{path}: {err}");
        }
    }
}

#[test]
fn a_status_update_carries_the_status_and_why_the_call_ended() {
    let VapiEvent::StatusUpdate { status, ended_reason, .. } = vapi_event("status-update.in-progress") else {
        panic!("not a status update")
    };
    assert_eq!((status.as_str(), ended_reason), ("in-progress", None));
    let VapiEvent::StatusUpdate { status, ended_reason, .. } = vapi_event("status-update.ended") else {
        panic!("not a status update")
    };
    assert_eq!((status.as_str(), ended_reason.as_deref()), ("ended", Some("customer-ended-call")));
}

#[test]
fn transcripts_say_whether_they_are_final() {
    let cases = [
        ("transcript.partial", "user", false, "What does the"),
        ("transcript.final", "assistant", true, "Pro is 49 dollars a month."),
        ("transcript.final-only.phone-call", "user", true, "I'd like to talk to a person."),
    ];
    for (name, expected_role, expected_final, expected_text) in cases {
        let VapiEvent::Transcript { role, is_final, text, .. } = vapi_event(name) else {
            panic!("{name}: not a transcript")
        };
        assert_eq!((role.as_str(), is_final, text.as_str()), (expected_role, expected_final, expected_text));
    }
}

#[test]
fn the_contact_session_comes_from_the_call_metadata_or_the_assistant_overrides() {
    // metadata, assistantOverrides.variableValues, assistantOverrides.metadata, in that order.
    for name in ["end-of-call-report", "status-update.in-progress", "status-update.ended"] {
        let event = vapi_event(name);
        let call = event.call().unwrap_or_else(|| panic!("{name}: no call"));
        assert_eq!(call.call_id, "9c4e1a2b-7d3f-4b8e-a6c5-2f1e0d9c8b7a", "{name}");
        assert_eq!(call.contact_session_id.as_deref(), Some(SESSION), "{name}");
    }
}

#[test]
fn a_phone_call_has_no_contact_session() {
    let event = vapi_event("transcript.final-only.phone-call");
    assert_eq!(event.call().map(|call| call.contact_session_id.clone()), Some(None));
}

#[test]
fn the_report_carries_the_summary_recording_transcript_and_cost() {
    let report = report("end-of-call-report");
    assert_eq!(report.ended_reason.as_deref(), Some("customer-ended-call"));
    assert_eq!(report.started_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-02T10:00:00.120+00:00"));
    assert_eq!(report.ended_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-02T10:03:12.480+00:00"));
    assert_eq!(report.cost, Some(0.1941));
    assert_eq!(
        report.summary.as_deref(),
        Some("The customer asked about the Pro plan price and was told 49 USD per month.")
    );
    assert!(report.recording_url.is_some_and(|url| url.ends_with("-mono.wav")));
    assert!(report.transcript.is_some_and(|t| t.starts_with("AI: Hi! How can we help?")));
}

#[test]
fn duration_falls_back_to_duration_ms_then_to_the_timestamps() {
    assert_eq!(report("end-of-call-report").duration_seconds, Some(192.36));
    assert_eq!(report("end-of-call-report.duration-ms-only").duration_seconds, Some(45.5));
    assert_eq!(report("end-of-call-report.top-level-fields").duration_seconds, Some(150.5));
}

#[test]
fn top_level_summary_transcript_and_recording_are_used_when_the_report_has_no_others() {
    let report = report("end-of-call-report.top-level-fields");
    assert_eq!(report.summary.as_deref(), Some("The customer booked a demo for Tuesday."));
    assert_eq!(report.transcript.as_deref(), Some("AI: Hi!\nUser: I want a demo.\n"));
    assert!(report.recording_url.is_some_and(|url| url.ends_with("-top-level-mono.wav")));
    assert!(report.messages.is_empty(), "only artifact.messages are read");
}

#[test]
fn the_report_transcript_leaves_out_system_and_tool_lines() {
    let report = report("end-of-call-report");
    let lines: Vec<_> = report.messages.iter().map(|line| (line.role.as_str(), line.text.as_str())).collect();
    assert_eq!(
        lines,
        [
            ("assistant", "Hi! How can we help?"),
            ("user", "What does the Pro plan cost?"),
            ("assistant", "Pro is 49 dollars a month."),
        ]
    );
    assert_eq!(report.messages[1].seconds_from_start, Some(4.1));
}

#[test]
fn other_message_types_are_acknowledged_not_refused() {
    for kind in ["conversation-update", "tool-calls", "hang", "speech-update", "assistant-request"] {
        assert_eq!(vapi_event(kind), VapiEvent::Other { kind: kind.into() });
    }
}
