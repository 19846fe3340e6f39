//! Property-based tests of the parsers that stand between callers and the system: subjects,
//! ids and widget settings. Whatever the input, they never panic, accept only what they can
//! rebuild exactly, and name a field when they refuse.

use proptest::prelude::*;

use crate::api::Endpoint;
use crate::bus::subjects;
use crate::ids::OrgId;
use crate::model::decode;
use crate::model::widget_settings::{Theme, WidgetSettings};

const ID: &str = "[A-Za-z0-9_-]{1,64}";

proptest! {
    #[test]
    fn every_valid_org_id_round_trips_through_every_subject(org in ID, at in 0..Endpoint::ALL.len()) {
        let org = OrgId::parse(&org).unwrap();
        let endpoint = Endpoint::ALL[at];
        prop_assert_eq!(subjects::parse_public(&subjects::public(&org, endpoint)).unwrap(), (org, endpoint));
    }

    #[test]
    fn any_string_parsed_as_a_subject_is_refused_or_rebuilt_exactly(subject in "\\PC{0,80}|assist\\.v1\\.public\\.[a-z_.*> ]{0,20}\\.settings\\.get") {
        if let Ok((org, endpoint)) = subjects::parse_public::<Endpoint>(&subject) {
            prop_assert_eq!(subjects::public(&org, endpoint), subject);
        }
    }

    #[test]
    fn an_org_id_is_accepted_exactly_when_it_is_subject_safe(raw in "\\PC{0,70}") {
        let safe = !raw.is_empty() && raw.len() <= 64
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        prop_assert_eq!(OrgId::parse(&raw).is_ok(), safe);
    }

    #[test]
    fn arbitrary_json_never_panics_the_settings_decoder_and_names_a_field(body in any::<Vec<u8>>()) {
        match decode::<WidgetSettings>(&body) {
            Ok(settings) => { let _ = settings.validate(); }
            Err(err) => prop_assert!(err.message.contains(": "), "{}", err.message),
        }
    }

    #[test]
    fn valid_settings_survive_a_json_round_trip(
        welcome in "[a-zA-Z0-9 !?.,]{1,500}",
        colour in "#[0-9a-f]{6}",
        suggestions in proptest::collection::vec("[a-z ]{1,100}", 0..=3),
    ) {
        prop_assume!(!welcome.trim().is_empty() && suggestions.iter().all(|s| !s.trim().is_empty()));
        let defaults = WidgetSettings::default();
        let theme = Theme { primary_color: colour, ..defaults.theme.clone() };
        let settings = WidgetSettings { welcome_message: welcome, theme, suggestions, ..defaults };
        prop_assert!(settings.validate().is_ok());
        let back: WidgetSettings = decode(&serde_json::to_vec(&settings).unwrap()).unwrap();
        prop_assert_eq!(back, settings);
    }
}
