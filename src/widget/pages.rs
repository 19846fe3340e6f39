//! The widget's static files. Each body is compiled in and answered with an ETag and
//! `no-cache`: the embed script loads on every page view of every customer site, so browsers
//! revalidate it cheaply (304) yet pick up a new version as soon as assist is upgraded.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::WidgetConfig;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// The widget page is framed by customers' sites, so any ancestor may frame it (this overrides a
/// stricter `X-Frame-Options` set elsewhere). Scripts and connections stay open: Vapi's SDK,
/// loaded from a configurable URL, brings its own media and signalling hosts.
const WIDGET_POLICY: &str = "frame-ancestors *; object-src 'none'; base-uri 'none'";
/// The demo page runs only its own inline markup, the embed script and the widget frame.
const DEMO_POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
     script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'";

/// Where the widget page reads the SDK URL from (see `static/widget/index.html`).
const SDK_URL_SLOT: &str = "{{vapiWebSdkUrl}}";

/// The widget page's scripts and styles, under `/widget/`; ES modules import each other
/// relatively, so the names here are the names in the `import` lines.
const WIDGET_FILES: [(&str, &str, &str); 6] = [
    ("/widget/app.js", JS, include_str!("../../static/widget/app.js")),
    ("/widget/api.js", JS, include_str!("../../static/widget/api.js")),
    ("/widget/sse.js", JS, include_str!("../../static/widget/sse.js")),
    ("/widget/views.js", JS, include_str!("../../static/widget/views.js")),
    ("/widget/voice.js", JS, include_str!("../../static/widget/voice.js")),
    ("/widget/widget.css", CSS, include_str!("../../static/widget/widget.css")),
];

/// `/embed.js`, `/widget` and its files, and `/demo` when the demo is on, each answered to `GET`.
pub fn files(config: &WidgetConfig) -> Vec<(&'static str, Asset)> {
    let index = include_str!("../../static/widget/index.html")
        .replace(SDK_URL_SLOT, &html_attribute(&config.vapi_web_sdk_url));
    let mut files = vec![
        ("/embed.js", Asset::new(JS, include_str!("../../static/embed.js"))),
        ("/widget", Asset::new(HTML, index).with_policy(HeaderValue::from_static(WIDGET_POLICY))),
    ];
    for (path, content_type, body) in WIDGET_FILES {
        files.push((path, Asset::new(content_type, body)));
    }
    if config.demo {
        let demo = Asset::new(HTML, include_str!("../../static/demo.html"))
            .with_policy(HeaderValue::from_static(DEMO_POLICY));
        files.push(("/demo", demo));
    }
    files
}

/// One static file with its type and version tag.
#[derive(Clone)]
pub struct Asset {
    content_type: &'static str,
    body: Bytes,
    etag: HeaderValue,
    /// `Content-Security-Policy` of an HTML page.
    policy: Option<HeaderValue>,
}

impl Asset {
    pub fn new(content_type: &'static str, body: impl Into<String>) -> Self {
        let body = Bytes::from(body.into());
        let digest = Sha256::digest(&body);
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header value");
        Self { content_type, body, etag, policy: None }
    }

    pub fn with_policy(self, policy: HeaderValue) -> Self {
        Self { policy: Some(policy), ..self }
    }

    /// The file, or `304` when the browser's copy is this version.
    pub fn answer(&self, request: &HeaderMap) -> Response {
        let headers = [
            (header::CONTENT_TYPE, HeaderValue::from_static(self.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::ETAG, self.etag.clone()),
        ];
        let mut response = if self.matches(request) {
            (StatusCode::NOT_MODIFIED, headers).into_response()
        } else {
            (headers, self.body.clone()).into_response()
        };
        if let Some(policy) = &self.policy {
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy.clone());
        }
        response
    }

    /// `If-None-Match` holding this version's tag (or `*`).
    fn matches(&self, request: &HeaderMap) -> bool {
        let Some(tags) = request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let ours = self.etag.to_str().unwrap_or_default();
        tags.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == ours || t == "*")
    }
}

/// Escapes a value for a double-quoted HTML attribute.
fn html_attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_cannot_close_the_attribute() {
        assert_eq!(html_attribute(r#"x" onload="a&b<c>'"#), "x&quot; onload=&quot;a&amp;b&lt;c&gt;&#39;");
    }

    #[test]
    fn a_matching_tag_is_not_modified_and_another_is_served() {
        let asset = Asset::new(JS, "let a = 1;");
        let mut request = HeaderMap::new();
        assert_eq!(asset.answer(&request).status(), StatusCode::OK);
        let tag = format!("W/\"nope\", {}", asset.etag.to_str().unwrap());
        request.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&tag).unwrap());
        assert_eq!(asset.answer(&request).status(), StatusCode::NOT_MODIFIED);
        request.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(asset.answer(&request).status(), StatusCode::OK);
    }
}
