//! The console's files, under `/console`, answered like the widget's (ETag, `no-cache`). The
//! page's Content-Security-Policy allows assist itself and, when Clerk is configured, what
//! ClerkJS needs from its Frontend API host, and nothing else: no inline script at all.

use axum::http::HeaderValue;

use super::ConsoleOptions;
use crate::widget::Asset;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// The page's scripts and styles; ES modules import each other relatively, so the names here
/// are the names in the `import` lines.
const FILES: [(&str, &str, &str); 12] = [
    ("/console/console.css", CSS, include_str!("web/console.css")),
    ("/console/app.js", JS, include_str!("web/app.js")),
    ("/console/api.js", JS, include_str!("web/api.js")),
    ("/console/auth.js", JS, include_str!("web/auth.js")),
    ("/console/events.js", JS, include_str!("web/events.js")),
    ("/console/dom.js", JS, include_str!("web/dom.js")),
    ("/console/inbox.js", JS, include_str!("web/inbox.js")),
    ("/console/conversation.js", JS, include_str!("web/conversation.js")),
    ("/console/settings.js", JS, include_str!("web/settings.js")),
    ("/console/integrations.js", JS, include_str!("web/integrations.js")),
    ("/console/knowledge.js", JS, include_str!("web/knowledge.js")),
    ("/console/operations.js", JS, include_str!("web/operations.js")),
];

/// `/console` and its files, each answered to `GET`.
pub fn files(options: &ConsoleOptions) -> Vec<(&'static str, Asset)> {
    let page = Asset::new(HTML, include_str!("web/index.html")).with_policy(policy(options));
    let mut files = vec![("/console", page)];
    for (path, content_type, body) in FILES {
        files.push((path, Asset::new(content_type, body)));
    }
    files
}

/// ClerkJS's documented needs: its script and API on the Frontend API host, Cloudflare's bot
/// check (a script and a frame), avatars from `img.clerk.com`, a blob worker, and inline styles
/// (its components style themselves at runtime). The widget preview is a frame of assist's own.
fn policy(options: &ConsoleOptions) -> HeaderValue {
    const CHALLENGES: &str = "https://challenges.cloudflare.com";
    let directives = match &options.clerk {
        Some(key) => {
            let api = key.frontend_api();
            format!(
                "default-src 'none'; script-src 'self' {api} {CHALLENGES}; connect-src 'self' {api}; \
                 style-src 'self' 'unsafe-inline'; img-src 'self' data: https://img.clerk.com; \
                 frame-src 'self' {CHALLENGES}; worker-src 'self' blob:; "
            )
        }
        None => "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                 img-src 'self' data:; frame-src 'self'; "
            .to_owned(),
    };
    let policy = format!("{directives}base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    HeaderValue::from_str(&policy).expect("a publishable key's host is a plain host name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::PublishableKey;

    fn policy_of(options: &ConsoleOptions) -> String {
        policy(options).to_str().unwrap().to_owned()
    }

    #[test]
    fn without_clerk_the_page_loads_only_from_assist() {
        let policy = policy_of(&ConsoleOptions::default());
        assert!(policy.starts_with("default-src 'none'; script-src 'self'; connect-src 'self';"), "{policy}");
        assert!(!policy.contains("https:") && !policy.contains("unsafe"), "{policy}");
    }

    #[test]
    fn with_clerk_its_frontend_api_host_is_allowed_to_script_and_connect() {
        // base64("clerk.example.com$")
        let key = PublishableKey::parse("pk_test_Y2xlcmsuZXhhbXBsZS5jb20k").unwrap();
        let policy = policy_of(&ConsoleOptions { clerk: Some(key), demo: None });
        assert!(
            policy.contains("script-src 'self' https://clerk.example.com https://challenges"),
            "{policy}"
        );
        assert!(policy.contains("connect-src 'self' https://clerk.example.com;"), "{policy}");
        assert!(!policy.contains("'unsafe-eval'") && policy.ends_with("frame-ancestors 'none'"), "{policy}");
    }

    #[test]
    fn every_file_is_under_console() {
        for (path, _) in files(&ConsoleOptions::default()) {
            assert!(path == "/console" || path.starts_with("/console/"), "{path}");
        }
    }
}
