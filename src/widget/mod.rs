//! The embeddable widget, served by assist itself: the embed script a customer puts on their
//! site, the widget page it frames, and the page and organization of `assist serve --demo`.
//! Plain HTML, JS and CSS compiled into the binary (`static/`): no build step, no second server,
//! and the page always matches the API it calls.

mod demo;
mod pages;

pub use demo::{DEMO_ORG, demo_settings, demo_url, seed_demo};
pub use pages::{Asset, files};

/// Vapi's web SDK as an ES module whose default export is the `Vapi` class.
pub const DEFAULT_VAPI_WEB_SDK_URL: &str = "https://esm.sh/@vapi-ai/web@2";

#[derive(Clone, Debug)]
pub struct WidgetConfig {
    /// Where the widget page imports Vapi's web SDK from when a voice call starts; configurable
    /// so a deployment can pin or self-host it (and tests can stand in for it).
    pub vapi_web_sdk_url: String,
    /// Seed the demo organization and serve `/demo`.
    pub demo: bool,
}

impl Default for WidgetConfig {
    fn default() -> Self {
        Self { vapi_web_sdk_url: DEFAULT_VAPI_WEB_SDK_URL.into(), demo: false }
    }
}
