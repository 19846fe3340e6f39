//! Numbers and identifiers from outside are parsed and bounded where they enter: none may panic
//! a handler or an actor, or be echoed at any length; and one caller cannot hold open event
//! streams without bound.

use std::time::Duration;

use assist::http::StreamLimits;
use assist::ids::OrgId;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, custom_settings, eventually, spawn_app, spawn_app_with};
use crate::vapi::{PRIVATE_KEY, connect, paying_org};

/// Opens an event stream with `header` (credentials) and an optional `Last-Event-ID`.
async fn open_stream(
    app: &TestApp,
    path: &str,
    header: (&str, &str),
    last: Option<&str>,
) -> reqwest::Response {
    let mut request = app.http.get(app.url(path)).header(header.0, header.1);
    if let Some(last) = last {
        request = request.header("Last-Event-ID", last);
    }
    request.send().await.expect("the edge answers")
}

/// Reads `stream` until an event of kind `event` arrives (within 5 s).
async fn receives(stream: reqwest::Response, event: &str) -> bool {
    let mut body = stream.bytes_stream();
    let mut seen = String::new();
    let wanted = format!("event: {event}");
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(&wanted) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

#[tokio::test]
async fn a_last_event_id_beyond_every_sequence_resumes_live_on_both_streams() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, ada) = app.session("org_acme", "Ada").await;
    let bearer = format!("Bearer {}", app.token("org_acme"));
    let max = u64::MAX.to_string();

    let operator =
        open_stream(&app, "/v1/orgs/org_acme/events", ("Authorization", &bearer), Some(&max)).await;
    let widget =
        open_stream(&app, "/v1/widget/org_acme/events", ("X-Contact-Session", &ada), Some(&max)).await;
    assert_eq!((operator.status(), widget.status()), (StatusCode::OK, StatusCode::OK));
    app.put("/v1/orgs/org_acme/widget-settings", Some(&app.token("org_acme")), &custom_settings()).await;

    assert!(receives(operator, "settings.updated").await, "the operator's stream goes on live");
    assert!(receives(widget, "settings.updated").await, "the widget's stream goes on live");
}

#[tokio::test]
async fn a_last_event_id_that_is_not_a_sequence_is_refused_naming_the_header() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, ada) = app.session("org_acme", "Ada").await;

    for bad in ["18446744073709551616", "-1", "latest"] {
        let refused =
            open_stream(&app, "/v1/widget/org_acme/events", ("X-Contact-Session", &ada), Some(bad)).await;
        let answer = crate::helpers::answer(refused).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(answer.error_message(), "Last-Event-ID: not an event id this stream sent");
    }
}

/// The documented report about `call`, with `edit` applied.
fn report(call: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let path = format!("{}/tests/fixtures/vapi/end-of-call-report.json", env!("CARGO_MANIFEST_DIR"));
    let mut body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    body["message"]["call"]["id"] = call.into();
    edit(&mut body["message"]);
    body
}

#[tokio::test]
async fn a_vapi_report_with_absurd_numbers_is_dead_lettered_and_its_org_goes_on() {
    let app = spawn_app().await;
    paying_org(&app).await;
    app.vapi.add_key(PRIVATE_KEY);
    let plugin = connect(&app, &app.token("org_acme"), PRIVATE_KEY).await;
    let secret = plugin.body["webhookSecret"].as_str().unwrap().to_owned();
    let absurd = [
        report("call-absurd-offset", |m| m["artifact"]["messages"][1]["secondsFromStart"] = 1e300.into()),
        report("call-far-future", |m| {
            m["startedAt"] = "9999-12-31T23:59:59Z".into();
            m["artifact"]["messages"][1]["secondsFromStart"] = 1e13.into();
        }),
    ];

    for body in &absurd {
        let sent = app
            .http
            .post(app.url("/webhooks/vapi/org_acme"))
            .header("X-Vapi-Secret", &secret)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::OK, "stored before it is read");
    }

    assert!(eventually(Duration::from_secs(10), || app.ingest.counts().dead_lettered == 2).await);
    assert_eq!(app.ingest.counts().retried, 0, "refused as unreadable at once, not retried");
    let org = OrgId::parse("org_acme").unwrap();
    let status = app.tenants.statuses().await.unwrap().into_iter().find(|s| s.org == org).unwrap();
    assert_eq!((status.status.as_str(), status.restarts), ("active", 0));
    let list = app.get("/v1/orgs/org_acme/conversations", Some(&app.token("org_acme"))).await;
    assert_eq!(list.status, StatusCode::OK, "the org answers its operators");
}

#[tokio::test]
async fn a_request_id_is_echoed_only_when_short_and_plain() {
    let app = spawn_app().await;
    let echoed = |value: reqwest::header::HeaderValue| {
        let request = app.http.get(app.url("/healthz")).header("X-Request-Id", value);
        async move { request.send().await.unwrap().headers()["x-request-id"].clone() }
    };

    assert_eq!(echoed("req-42:retry.1_b".parse().unwrap()).await, "req-42:retry.1_b");
    let long = "a".repeat(60 * 1024);
    for odd in [long.as_bytes(), "é".as_bytes(), b"two words", &[b'a'; 65]] {
        let value = reqwest::header::HeaderValue::from_bytes(odd).unwrap();
        let replaced = echoed(value).await;
        assert_ne!(replaced.as_bytes(), odd);
        assert_eq!(replaced.len(), 36, "a fresh id instead: {replaced:?}");
    }
}

#[tokio::test]
async fn event_streams_are_capped_per_session_per_org_and_for_operators() {
    let limits = StreamLimits { per_session: 2, widget_per_org: 3, operators_per_org: 1 };
    let app = spawn_app_with(|c| c.streams = limits).await;
    app.known_org("org_acme").await;
    let (_, ada) = app.session("org_acme", "Ada").await;
    let (_, eve) = app.session("org_acme", "Eve").await;
    let bearer = format!("Bearer {}", app.token("org_acme"));
    let widget = |token: String| {
        let app = &app;
        async move { open_stream(app, "/v1/widget/org_acme/events", ("X-Contact-Session", &token), None).await }
    };

    let mut open = vec![widget(ada.clone()).await, widget(ada.clone()).await];
    let third = widget(ada.clone()).await;
    open.push(widget(eve.clone()).await);
    let over_org = widget(eve.clone()).await;
    let operator = open_stream(&app, "/v1/orgs/org_acme/events", ("Authorization", &bearer), None).await;
    let second_operator =
        open_stream(&app, "/v1/orgs/org_acme/events", ("Authorization", &bearer), None).await;

    assert!(open.iter().all(|s| s.status() == StatusCode::OK));
    assert_eq!(operator.status(), StatusCode::OK);
    for (refused, names) in [(third, "contact session"), (over_org, "widget"), (second_operator, "operators")]
    {
        let answer = crate::helpers::answer(refused).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{names}");
        assert!(answer.error_message().contains(names), "{}", answer.error_message());
    }
    drop(open.remove(0));
    let mut reopened = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..50 {
        reopened = widget(ada.clone()).await.status();
        if reopened == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(reopened, StatusCode::OK, "a closed stream frees its place");
}
