//! The operator console at `/console`: the inbox, conversations, widget settings, integrations
//! and operations in a browser. Like the widget, plain HTML, JS and CSS compiled into the binary
//! and served by assist (no build step); it calls only the public HTTP API, with the Clerk
//! session token of the operator signed in through ClerkJS, or with `--demo` on loopback the
//! demo operator's token (`crate::auth::DemoOperator`).

mod clerk;
mod files;
mod session;

pub use clerk::PublishableKey;
pub use files::files;
pub use session::{ConsoleConfig, DemoSession, config, demo_session};

use crate::auth::DemoOperator;

/// What the console is served with.
#[derive(Clone, Debug, Default)]
pub struct ConsoleOptions {
    /// The Clerk instance operators sign in with; `None` offers no Clerk sign-in.
    pub clerk: Option<PublishableKey>,
    /// `--demo`: the operator `/console/demo-session` hands out to loopback browsers.
    pub demo: Option<DemoOperator>,
}
