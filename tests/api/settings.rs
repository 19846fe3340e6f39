//! Widget settings end to end: the dashboard and widget routes over HTTP, the same operations
//! over NATS, and who may do what.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{custom_settings, spawn_app};

#[tokio::test]
async fn an_operator_reads_the_defaults_then_replaces_the_settings() {
    let app = spawn_app().await;
    let token = app.token("org_acme");

    let defaults = app.get("/v1/orgs/org_acme/widget-settings", Some(&token)).await;
    assert_eq!(defaults.status, StatusCode::OK);
    assert_eq!(defaults.body["welcomeMessage"], "Hi! How can we help?");

    let put = app.put("/v1/orgs/org_acme/widget-settings", Some(&token), &custom_settings()).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body, custom_settings());

    let read = app.get("/v1/orgs/org_acme/widget-settings", Some(&token)).await;
    assert_eq!(read.body, custom_settings());
}

#[tokio::test]
async fn the_widget_reads_the_settings_anonymously() {
    let app = spawn_app().await;
    app.put("/v1/orgs/org_acme/widget-settings", Some(&app.token("org_acme")), &custom_settings()).await;

    let widget = app.get("/v1/widget/org_acme/settings", None).await;

    assert_eq!(widget.status, StatusCode::OK);
    assert_eq!(widget.body["organizationId"], "org_acme");
    assert_eq!(widget.body["welcomeMessage"], "Welcome to Acme! Ask us anything.");
    assert_eq!(widget.body["theme"]["position"], "bottom-left");
    assert_eq!(widget.body["voiceEnabled"], false);
    assert!(widget.body.get("vapiPublicKey").is_none());
    assert_eq!(widget.headers["access-control-allow-origin"], "*");
}

/// The widget route answers from the node's copy of what the owner last published; a change
/// that never passes through this edge (here: over NATS) must still reach it, by the change feed.
#[tokio::test]
async fn a_change_made_elsewhere_reaches_a_widget_that_already_read_the_settings() {
    let app = spawn_app().await;
    let token = app.token("org_acme");
    app.put("/v1/orgs/org_acme/widget-settings", Some(&token), &custom_settings()).await;
    let before = app.get("/v1/widget/org_acme/settings", None).await;
    assert_eq!(before.body["welcomeMessage"], "Welcome to Acme! Ask us anything.");

    let mut changed = custom_settings();
    changed["welcomeMessage"] = json!("Changed from another service");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Authorization", format!("Bearer {token}").as_str());
    let nats = app.backend_nats().await;
    let put = nats
        .request_with_headers("assist.v1.public.org_acme.settings.put", headers, changed.to_string().into())
        .await
        .expect("a reply");
    assert!(put.headers.as_ref().and_then(|h| h.get("Nats-Service-Error-Code")).is_none());

    // Well inside the 10 s a kept answer lives without confirmation: only the feed can do it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let widget = app.get("/v1/widget/org_acme/settings", None).await;
        if widget.body["welcomeMessage"] == "Changed from another service" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {}", widget.body["welcomeMessage"]);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_widget_route_gives_404_for_an_unknown_organization() {
    let app = spawn_app().await;

    let widget = app.get("/v1/widget/org_nobody/settings", None).await;

    assert_eq!(widget.status, StatusCode::NOT_FOUND);
    assert_eq!(widget.error_code(), "not_found");
    assert!(widget.error_message().contains("org_nobody"), "{}", widget.error_message());
}

#[tokio::test]
async fn the_settings_work_over_nats_with_the_jwt_in_a_header() {
    let app = spawn_app().await;
    let nats = app.backend_nats().await;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Authorization", format!("Bearer {}", app.token("org_acme")).as_str());

    let put = nats
        .request_with_headers(
            "assist.v1.public.org_acme.settings.put",
            headers.clone(),
            custom_settings().to_string().into(),
        )
        .await
        .expect("a reply");
    assert!(put.headers.as_ref().and_then(|h| h.get("Nats-Service-Error-Code")).is_none());
    let get = nats
        .request_with_headers("assist.v1.public.org_acme.settings.get", headers, "".into())
        .await
        .expect("a reply");

    assert_eq!(serde_json::from_slice::<Value>(&get.payload).unwrap(), custom_settings());
    let over_http = app.get("/v1/orgs/org_acme/widget-settings", Some(&app.token("org_acme"))).await;
    assert_eq!(over_http.body, custom_settings());
}

#[tokio::test]
async fn nats_errors_carry_the_status_and_code_in_service_headers() {
    let app = spawn_app().await;
    let nats = app.backend_nats().await;

    let reply = nats.request("assist.v1.public.org_acme.settings.get", "".into()).await.expect("a reply");

    let headers = reply.headers.expect("error headers");
    assert_eq!(headers.get("Nats-Service-Error-Code").unwrap().as_str(), "401");
    assert_eq!(headers.get("Assist-Error-Code").unwrap().as_str(), "unauthenticated");
    assert!(!headers.get("Nats-Service-Error").unwrap().as_str().is_empty());
}

#[tokio::test]
async fn a_token_for_one_organization_is_forbidden_on_another() {
    let app = spawn_app().await;
    let token_a = app.token("org_a");

    let read = app.get("/v1/orgs/org_b/widget-settings", Some(&token_a)).await;
    let write = app.put("/v1/orgs/org_b/widget-settings", Some(&token_a), &custom_settings()).await;

    assert_eq!(read.status, StatusCode::FORBIDDEN);
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(write.error_code(), "forbidden");
    assert_eq!(
        app.get("/v1/widget/org_b/settings", None).await.status,
        StatusCode::NOT_FOUND,
        "org_b must not exist"
    );
}

#[tokio::test]
async fn every_kind_of_bad_token_is_refused_with_401_at_the_edge() {
    let app = spawn_app().await;
    let base = || app.clerk.token().org("org_acme").role("org:admin");
    let bad = [
        ("expired", base().expired().sign()),
        ("not yet valid", base().not_yet_valid().sign()),
        ("issued in the future", base().issued_in_the_future().sign()),
        ("wrong issuer", base().wrong_issuer().sign()),
        ("wrong azp", base().wrong_azp().sign()),
        ("unknown kid", base().unknown_kid().sign()),
        ("alg none", base().alg_none()),
        ("hs256 with the public key", base().hs256_with_public_key()),
        ("tampered", base().tampered()),
        ("garbage", "not-a-jwt".to_owned()),
    ];
    let missing = app.get("/v1/orgs/org_acme/widget-settings", None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "missing token");

    for (what, token) in bad {
        let answer = app.put("/v1/orgs/org_acme/widget-settings", Some(&token), &custom_settings()).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}: {}", answer.body);
        assert_eq!(answer.error_code(), "unauthenticated", "{what}");
    }
    assert_eq!(
        app.get("/v1/widget/org_acme/settings", None).await.status,
        StatusCode::NOT_FOUND,
        "nothing was written"
    );
}

#[tokio::test]
async fn invalid_settings_get_400_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let token = app.token("org_acme");
    app.put("/v1/orgs/org_acme/widget-settings", Some(&token), &custom_settings()).await;
    let cases = [
        (
            "theme.primaryColor",
            json!({"theme": {"primaryColor": "blue", "position": "bottom-left", "mode": "dark"}}),
        ),
        (
            "theme.mode",
            json!({"theme": {"primaryColor": "#fff", "position": "bottom-left", "mode": "sepia"}}),
        ),
        ("welcomeMessage", json!({"welcomeMessage": "x".repeat(501)})),
        ("welcomeMessage", json!({"welcomeMessage": 42})),
        ("suggestions", json!({"suggestions": ["a", "b", "c", "d"]})),
        ("phoneNumber", json!({"phoneNumber": "call me"})),
        ("unexpected", json!({"unexpected": true})),
    ];

    for (field, patch) in cases {
        let mut body = custom_settings();
        for (key, value) in patch.as_object().unwrap() {
            body[key] = value.clone();
        }
        let answer = app.put("/v1/orgs/org_acme/widget-settings", Some(&token), &body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{field}: {}", answer.body);
        assert_eq!(answer.error_code(), "invalid_argument");
        assert!(answer.error_message().contains(field), "{field}: {}", answer.error_message());
    }
    let after = app.get("/v1/orgs/org_acme/widget-settings", Some(&token)).await;
    assert_eq!(after.body, custom_settings());
}

#[tokio::test]
async fn a_body_that_is_not_json_gets_400() {
    let app = spawn_app().await;

    let answer = crate::helpers::answer(
        app.http
            .put(app.url("/v1/orgs/org_acme/widget-settings"))
            .bearer_auth(app.token("org_acme"))
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error_code(), "invalid_argument");
}

#[tokio::test]
async fn an_org_id_that_would_break_a_subject_gets_400() {
    let app = spawn_app().await;

    for bad in ["org.a", "org*", "org%3E", "org%20a"] {
        let answer = app.get(&format!("/v1/widget/{bad}/settings"), None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}: {}", answer.body);
        assert!(answer.error_message().starts_with("org: "), "{bad}: {}", answer.error_message());
    }
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let app = spawn_app().await;
    let mut body = custom_settings();
    body["welcomeMessage"] = Value::String("x".repeat(100 * 1024));

    let answer = app.put("/v1/orgs/org_acme/widget-settings", Some(&app.token("org_acme")), &body).await;

    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error_code(), "payload_too_large");
}
