//! `assist serve --demo`: one organization with pleasant widget settings and a page that embeds
//! its widget, so a newcomer sees the product with one command and no Clerk account.

use std::net::SocketAddr;

use crate::actors::Tenants;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::model::widget_settings::{Mode, Position, Theme, WidgetSettings};

/// The demo organization's id; `/demo` embeds its widget.
pub const DEMO_ORG: &str = "org_demo";

pub fn demo_settings() -> WidgetSettings {
    WidgetSettings {
        welcome_message: "Hi, welcome to the assist demo! Ask us anything, or pick a topic below.".into(),
        assistant_id: None,
        voice: "alloy".into(),
        theme: Theme { primary_color: "#0f766e".into(), position: Position::BottomRight, mode: Mode::Light },
        suggestions: vec!["What can this widget do?".into(), "Pricing".into(), "Talk to a human".into()],
        phone_number: Some("+14155550123".into()),
    }
}

/// Makes the demo organization known with [`demo_settings`] (replacing any earlier ones, so
/// every demo starts the same).
pub async fn seed_demo(tenants: &Tenants) -> Result<(), ApiError> {
    let org = OrgId::parse(DEMO_ORG)?;
    // In a cluster only the org's owner may write it; the others leave it to that node.
    if tenants.ownership().token(&org).is_none() {
        tracing::info!(%org, "the demo organization belongs to another node; not seeded here");
        return Ok(());
    }
    tenants.org(&org).seed(demo_settings()).await
}

/// The demo page's address for a person to open: a wildcard listen address becomes loopback.
pub fn demo_url(listening: SocketAddr) -> String {
    let mut addr = listening;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{addr}/demo")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_settings_are_valid() {
        demo_settings().validate().unwrap();
    }

    #[test]
    fn the_demo_url_names_an_address_a_browser_can_open() {
        assert_eq!(demo_url("0.0.0.0:8080".parse().unwrap()), "http://127.0.0.1:8080/demo");
        assert_eq!(demo_url("[::]:8080".parse().unwrap()), "http://[::1]:8080/demo");
        assert_eq!(demo_url("10.1.2.3:80".parse().unwrap()), "http://10.1.2.3:80/demo");
    }
}
