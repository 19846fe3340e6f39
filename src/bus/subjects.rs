//! Every NATS subject assist uses is built and parsed here, and nowhere else.
//!
//! | family   | pattern                                        | publishers              | listeners      |
//! |----------|------------------------------------------------|-------------------------|----------------|
//! | public   | `assist.v1.public.<org>.<resource>.<verb>`     | the edge, other services | the bus service (queue group), which calls the org actor |
//!
//! Later families (private Vapi calls, system events, the change feed, admin) join this table as
//! they are built.

use crate::error::ApiError;
use crate::ids::OrgId;

const PUBLIC_PREFIX: &str = "assist.v1.public";

/// One public operation: a `(resource, verb)` pair under an org. Each is a NATS micro-service
/// endpoint of its own, so `nats micro stats` counts requests and errors per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Operator reads the widget settings (JWT).
    SettingsGet,
    /// Operator replaces the widget settings (JWT).
    SettingsPut,
    /// The embedded widget reads what it needs to render (anonymous).
    WidgetSettings,
}

impl Endpoint {
    pub const ALL: [Endpoint; 3] = [Self::SettingsGet, Self::SettingsPut, Self::WidgetSettings];

    fn tokens(self) -> (&'static str, &'static str) {
        match self {
            Self::SettingsGet => ("settings", "get"),
            Self::SettingsPut => ("settings", "put"),
            Self::WidgetSettings => ("widget", "settings"),
        }
    }

    /// The micro-service endpoint name (`settings-get`), as `nats micro info` lists it.
    pub fn name(self) -> String {
        let (resource, verb) = self.tokens();
        format!("{resource}-{verb}")
    }
}

/// `assist.v1.public.<org>.<resource>.<verb>`: published by the edge and by other services with
/// the caller's credentials in headers; served by the bus service.
pub fn public(org: &OrgId, endpoint: Endpoint) -> String {
    let (resource, verb) = endpoint.tokens();
    format!("{PUBLIC_PREFIX}.{org}.{resource}.{verb}")
}

/// The subscription of one endpoint across every org: `assist.v1.public.*.<resource>.<verb>`.
pub fn public_any_org(endpoint: Endpoint) -> String {
    let (resource, verb) = endpoint.tokens();
    format!("{PUBLIC_PREFIX}.*.{resource}.{verb}")
}

/// Parses a public subject, refusing extra or missing tokens and invalid org ids.
pub fn parse_public(subject: &str) -> Result<(OrgId, Endpoint), ApiError> {
    let rest = subject
        .strip_prefix(PUBLIC_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
        .ok_or_else(|| ApiError::invalid("subject", format!("not a public subject: {subject}")))?;
    let tokens: Vec<&str> = rest.split('.').collect();
    let [org, resource, verb] = tokens[..] else {
        return Err(ApiError::invalid(
            "subject",
            format!("expected {PUBLIC_PREFIX}.<org>.<resource>.<verb>, got {subject}"),
        ));
    };
    let org = OrgId::parse(org)?;
    let endpoint = Endpoint::ALL
        .into_iter()
        .find(|e| e.tokens() == (resource, verb))
        .ok_or_else(|| ApiError::not_found(format!("no public operation {resource}.{verb}")))?;
    Ok((org, endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_subject_round_trips() {
        let org = OrgId::parse("org_2abc").unwrap();
        for endpoint in Endpoint::ALL {
            let subject = public(&org, endpoint);
            assert_eq!(parse_public(&subject).unwrap(), (org.clone(), endpoint));
        }
    }

    #[test]
    fn the_settings_subjects_are_the_documented_ones() {
        let org = OrgId::parse("org_a").unwrap();
        assert_eq!(public(&org, Endpoint::SettingsGet), "assist.v1.public.org_a.settings.get");
        assert_eq!(public(&org, Endpoint::SettingsPut), "assist.v1.public.org_a.settings.put");
        assert_eq!(public_any_org(Endpoint::SettingsGet), "assist.v1.public.*.settings.get");
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
            assert!(parse_public(bad).is_err(), "{bad}");
        }
    }
}
