//! The declarations hold together: every operation has its own subject and route, its path
//! takes an org, and its subject reads back into it.

use std::collections::HashSet;

use super::*;

#[test]
fn every_operation_round_trips_through_its_subject() {
    let org = OrgId::parse("org_2abc").unwrap();
    for endpoint in Endpoint::ALL {
        let subject = subjects::public(&org, endpoint);
        assert_eq!(subjects::parse_public(&subject).unwrap(), (org.clone(), endpoint));
    }
}

#[test]
fn the_settings_subjects_are_the_documented_ones() {
    let org = OrgId::parse("org_a").unwrap();
    assert_eq!(subjects::public(&org, Endpoint::SettingsGet), "assist.v1.public.org_a.settings.get");
    assert_eq!(subjects::public(&org, Endpoint::SettingsPut), "assist.v1.public.org_a.settings.put");
}

#[test]
fn no_two_operations_share_a_subject_or_a_route() {
    let mut subjects = HashSet::new();
    let mut routes = HashSet::new();
    for endpoint in Endpoint::ALL {
        let spec = endpoint.spec();
        assert!(subjects.insert(spec.tokens), "{endpoint:?} repeats {:?}", spec.tokens);
        assert!(routes.insert((spec.method.clone(), spec.path)), "{endpoint:?} repeats {}", spec.path);
        assert!(spec.path.contains("/{org}"), "{endpoint:?}: {}", spec.path);
        assert!(!spec.summary.is_empty(), "{endpoint:?} has no summary");
    }
}

#[test]
fn every_example_body_is_valid_json() {
    for endpoint in Endpoint::ALL {
        let spec = endpoint.spec();
        assert_eq!(spec.example.is_some(), spec.request.is_some(), "{endpoint:?}");
        if let Some(example) = spec.example {
            serde_json::from_str::<serde_json::Value>(example)
                .unwrap_or_else(|e| panic!("{endpoint:?}: {e}"));
        }
    }
}
