//! Health, readiness and `/metrics`: what a process supervisor and Prometheus read.

use std::time::Duration;

use assist::crypto::Secret;
use assist::faults::Fault;
use assist::ids::OrgId;
use assist::ops::Metrics;
use assist::vapi::{VapiClient, VapiConfig};
use reqwest::StatusCode;

use crate::fakes::vapi::FakeVapi;
use crate::helpers::{TestApp, custom_settings, spawn_app};
use crate::logs::Capture;

/// The text exposition, after checking it is served as Prometheus text.
async fn scrape(app: &TestApp) -> String {
    let response = app.http.get(app.url("/metrics")).send().await.expect("the edge answers");
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    response.text().await.unwrap()
}

/// Scrapes until `line` is there (counters read at scrape time may trail the request a bit).
async fn scrape_until(app: &TestApp, line: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(app).await;
        if text.lines().any(|l| l == line) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no line {line:?} in:\n{text}");
}

#[tokio::test]
async fn healthz_is_alive_and_readyz_is_ready_when_everything_answers() {
    let app = spawn_app().await;

    let alive = app.get("/healthz", None).await;
    let ready = app.get("/readyz", None).await;

    assert_eq!((alive.status, alive.body["status"].as_str()), (StatusCode::OK, Some("ok")));
    assert_eq!((ready.status, ready.body["status"].as_str()), (StatusCode::OK, Some("ready")));
}

#[tokio::test]
async fn readyz_names_nats_while_it_is_down_and_recovers_after() {
    let mut app = spawn_app().await;

    app.restart_nats(async |app: &TestApp| {
        let mut answer = app.get("/readyz", None).await;
        for _ in 0..100 {
            if answer.status != StatusCode::OK {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            answer = app.get("/readyz", None).await;
        }
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{}", answer.body);
        assert_eq!(answer.error_message(), "nats: not connected");
    })
    .await;

    scrape_until(&app, "assist_nats_reconnects_total 1").await;
    let mut ready = app.get("/readyz", None).await;
    for _ in 0..100 {
        if ready.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        ready = app.get("/readyz", None).await;
    }
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
}

#[tokio::test]
async fn readyz_names_jetstream_when_a_system_stream_is_missing() {
    let app = spawn_app().await;
    let js = async_nats::jetstream::new(app.backend_nats().await);
    js.delete_stream("ASSIST_DEADLETTER").await.expect("the dead-letter stream is deleted");

    let answer = app.get("/readyz", None).await;

    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{}", answer.body);
    assert_eq!(answer.error_message(), "jetstream: stream ASSIST_DEADLETTER not available");
}

#[tokio::test]
async fn http_requests_are_counted_by_route_template_never_by_raw_path() {
    let app = spawn_app().await;
    for _ in 0..2 {
        app.get("/v1/widget/org_unseen/settings", None).await;
    }
    app.get("/no/such/route", None).await;

    let text = scrape(&app).await;

    let route = r#"method="GET",route="/v1/widget/{org}/settings""#;
    assert!(text.contains(&format!(r#"assist_http_requests_total{{{route},status="404"}} 2"#)), "{text}");
    assert!(text.contains(&format!("assist_http_request_duration_seconds_count{{{route}}} 2")), "{text}");
    assert!(text.contains(r#"assist_http_requests_total{method="GET",route="unmatched",status="404"} 1"#));
    assert!(!text.contains("org_unseen") && !text.contains("/no/such/route"), "{text}");
}

#[tokio::test]
async fn nats_requests_and_errors_are_counted_per_endpoint() {
    let app = spawn_app().await;
    app.known_org("org_a").await;
    app.get("/v1/widget/org_unseen/settings", None).await;

    let text = scrape(&app).await;

    assert!(text.contains(r#"assist_nats_requests_total{endpoint="settings-get"} 1"#), "{text}");
    assert!(text.contains(r#"assist_nats_requests_total{endpoint="widget-settings"} 1"#), "{text}");
    let error = r#"assist_nats_request_errors_total{endpoint="widget-settings",code="not_found"} 1"#;
    assert!(text.contains(error), "{text}");
    assert!(!text.contains(r#"errors_total{endpoint="settings-get""#), "{text}");
}

/// An org actor's lines are logged in the span of the request it serves, so they can be
/// found by the request id a client sent or was given.
#[tokio::test]
async fn an_org_actors_log_lines_carry_the_request_id() {
    let logs = Capture::start();
    let app = spawn_app().await;
    let token = app.token("org_traced");

    let response = app
        .http
        .put(app.url("/v1/orgs/org_traced/widget-settings"))
        .bearer_auth(&token)
        .header("x-request-id", "req-traced-7")
        .json(&custom_settings())
        .send()
        .await
        .expect("the edge answers");

    assert_eq!(response.status(), StatusCode::OK);
    let text = logs.text();
    let line = text.lines().find(|l| l.contains("widget settings replaced"));
    let line = line.unwrap_or_else(|| panic!("the org actor logged the write:\n{text}"));
    assert!(line.contains("request_id=req-traced-7"), "{line}");
}

#[tokio::test]
async fn org_actor_lifecycles_are_counted() {
    let app = spawn_app().await;
    let token = app.token("org_crashy");
    app.known_org("org_a").await;
    app.known_org("org_crashy").await;
    assist::faults::arm(Fault::PanicAfterWrite, "org_crashy");
    app.put("/v1/orgs/org_crashy/widget-settings", Some(&token), &custom_settings()).await;
    app.tenants.passivate(&OrgId::parse("org_a").unwrap()).await.unwrap();

    let text = scrape_until(&app, "assist_org_actors_restarted_total 1").await;

    for line in [
        "assist_org_actors_failed_total 1",
        "assist_org_actors_passivated_total 1",
        "assist_org_actors_evicted_total 0",
        "assist_org_actors_activated_total 3",
        "assist_org_actors_active 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
}

#[tokio::test]
async fn group_commits_are_counted() {
    let app = spawn_app().await;
    app.known_org("org_a").await;
    app.known_org("org_b").await;
    app.session("org_a", "Ada").await;
    app.session("org_b", "Bob").await;

    let text = scrape(&app).await;

    // One after the other, so each batch was a transaction of its own.
    for line in [
        "assist_session_commits_total 2",
        "assist_session_batches_committed_total 2",
        "assist_session_commits_split_total 0",
        // Each org's actor was activated alone, by its operator request.
        "assist_activation_commits_total 2",
        "assist_activations_committed_total 2",
        "assist_activation_commits_split_total 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
}

#[tokio::test]
async fn webhook_ingest_counters_are_exported() {
    let app = spawn_app().await;

    let text = scrape(&app).await;

    let counts = app.ingest.counts();
    for (name, value) in [
        ("received", counts.received),
        ("applied", counts.applied),
        ("duplicated", counts.duplicates),
        ("dead_lettered", counts.dead_lettered),
    ] {
        let line = format!("assist_webhook_events_{name}_total {value}");
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
}

#[tokio::test]
async fn vapi_calls_are_counted_by_outcome_with_their_latency() {
    let fake = FakeVapi::start().await;
    fake.add_key("vapi-private-metrics-key");
    let metrics = Metrics::default();
    let config = VapiConfig { base_url: fake.base_url(), ..VapiConfig::default() };
    let client = VapiClient::new(config, reqwest::Client::new()).with_metrics(metrics.vapi());
    let org = OrgId::parse("org_a").unwrap();

    client.assistants(&org, &Secret::new("vapi-private-metrics-key".into())).await.expect("listed");
    let refused = client.assistants(&org, &Secret::new("not-the-key".into())).await;

    assert!(refused.is_err());
    let text = metrics.encode();
    assert!(text.contains(r#"assist_vapi_calls_total{endpoint="/assistant",outcome="ok"} 1"#), "{text}");
    assert!(text.contains(r#"assist_vapi_calls_total{endpoint="/assistant",outcome="invalid_key"} 1"#));
    assert!(text.contains(r#"assist_vapi_call_duration_seconds_count{endpoint="/assistant"} 2"#), "{text}");
}
