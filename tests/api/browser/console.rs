//! The operator console in a real browser (`tests/browser/console.mjs`): ClerkJS is replaced, at
//! the network layer, by a stand-in that signs in with tokens of the fake Clerk; the visitor
//! uses the real widget on a customer's page. And the demo sign-in of `serve --demo`, no Clerk.

use assist::auth::ClerkConfig;
use assist::console::PublishableKey;

use super::{HostSite, ORG, browser_tools, run_script};
use crate::console::PUBLISHABLE_KEY;
use crate::helpers::spawn_app_with;

const OTHER_ORG: &str = "org_console_other";
const ADMIN_TOKEN: &str = "console-admin-token";
/// Long enough for the whole script: the stand-in hands out the same token throughout.
const TOKEN_SECS: i64 = 600;

#[tokio::test]
async fn an_operator_answers_a_visitor_live_and_changes_the_widget_from_the_console() {
    let chromium = browser_tools();
    let host = HostSite::bind().await;
    let app = spawn_app_with(|config| {
        config.clerk_publishable_key = Some(PublishableKey::parse(PUBLISHABLE_KEY).unwrap());
        config.admin_token = Some(ADMIN_TOKEN.into());
    })
    .await;
    let assist_url = format!("http://{}", app.addr);
    let token = app.clerk.token().org(ORG).role("org:admin").valid_for(TOKEN_SECS).sign();
    let other =
        app.clerk.token().org(OTHER_ORG).role("org:admin").user("user_other").valid_for(TOKEN_SECS).sign();
    let host_url = host.serve(&assist_url);

    run_script(
        "tests/browser/console.mjs",
        &chromium,
        &[
            ("ASSIST_URL", assist_url.as_str()),
            ("HOST_URL", &host_url),
            ("ORG", ORG),
            ("TOKEN", &token),
            ("OTHER_ORG", OTHER_ORG),
            ("OTHER_TOKEN", &other),
            ("PUBLISHABLE_KEY", PUBLISHABLE_KEY),
            ("CLERK_ORIGIN", "https://clerk.console.test"),
            ("ADMIN_TOKEN", ADMIN_TOKEN),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_demo_operator_signs_in_without_clerk_and_sees_a_visitor_arrive() {
    let chromium = browser_tools();
    let app = spawn_app_with(|config| {
        config.widget.demo = true;
        config.clerk = ClerkConfig::default();
    })
    .await;
    let assist_url = format!("http://{}", app.addr);

    run_script("tests/browser/console-demo.mjs", &chromium, &[("ASSIST_URL", assist_url.as_str())]).await;
}
