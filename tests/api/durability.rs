//! Faults a process-level test can show: SIGKILL mid-writes, NATS restarting under traffic, and
//! secrets that must never reach the terminal.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{WEBHOOK_SECRET, eventually, spawn_app};
use crate::process::ChildApp;

#[tokio::test]
async fn every_acknowledged_write_survives_a_sigkill() {
    let mut app = ChildApp::start("warn,assist=info").await;
    let http = reqwest::Client::new();
    let token = app.clerk.token().org("org_acme").role("org:admin").sign();
    let known =
        http.get(app.url("/v1/orgs/org_acme/widget-settings")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(known.status(), StatusCode::OK);

    let (tx, mut acked) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (client, sessions) = (http.clone(), app.url("/v1/widget/org_acme/sessions"));
    let writer = tokio::spawn(async move {
        for i in 0.. {
            let body = json!({"name": format!("User {i}"), "email": format!("u{i}@example.com")});
            let Ok(response) = client.post(&sessions).json(&body).send().await else { break };
            if response.status() != StatusCode::CREATED {
                break;
            }
            let Ok(created) = response.json::<serde_json::Value>().await else { break };
            let _ = tx.send(created["contactSessionId"].as_str().unwrap().to_owned());
        }
    });
    let mut ids = Vec::new();
    while ids.len() < 25 {
        ids.push(acked.recv().await.unwrap());
    }
    app.kill().await;
    writer.await.unwrap();
    while let Ok(id) = acked.try_recv() {
        ids.push(id);
    }

    app.restart("warn,assist=info").await;
    for id in &ids {
        let found = http
            .get(app.url(&format!("/v1/orgs/org_acme/contact-sessions/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), StatusCode::OK, "acknowledged session {id} lost after SIGKILL");
    }
}

#[tokio::test]
async fn readiness_reports_a_nats_outage_and_the_node_recovers_by_itself() {
    let mut app = spawn_app().await;
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);

    app.restart_nats(async |app| {
        let mut down = None;
        for _ in 0..100 {
            let ready = app.get("/readyz", None).await;
            if ready.status == StatusCode::SERVICE_UNAVAILABLE {
                down = Some(ready);
                break;
            }
            eventually(Duration::from_millis(50), || false).await;
        }
        let down = down.expect("readiness noticed the outage");
        assert!(down.error_message().contains("nats"), "{}", down.error_message());
    })
    .await;

    let mut recovered = false;
    for _ in 0..200 {
        if app.get("/readyz", None).await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        eventually(Duration::from_millis(50), || false).await;
    }
    assert!(recovered, "reconnected without a restart");
    let answer = app.get("/v1/orgs/org_acme/widget-settings", Some(&app.token("org_acme"))).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn secrets_never_reach_the_processes_output() {
    let app = ChildApp::start("debug").await;
    let http = reqwest::Client::new();
    let jwt = app.clerk.token().org("org_acme").role("org:admin").sign();
    let private_key = "f00dcafe-private-4b8f-a1d2-9e8f7a6b5c4d";
    app.vapi.add_key(private_key);
    let subscription = include_str!("../fixtures/clerk/subscription.active.json")
        .replace("org_2pLkAcme000000000000001", "org_acme");
    let timestamp = chrono::Utc::now().timestamp();
    let verifier = assist::webhooks::svix::SvixVerifier::new(WEBHOOK_SECRET).unwrap();
    let signature = verifier.sign("msg_sub", timestamp, subscription.as_bytes());

    http.get(app.url("/v1/orgs/org_acme/widget-settings")).bearer_auth(&jwt).send().await.unwrap();
    let delivered = http
        .post(app.url("/webhooks/clerk"))
        .header("svix-id", "msg_sub")
        .header("svix-timestamp", timestamp.to_string())
        .header("svix-signature", &signature)
        .body(subscription)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), StatusCode::OK);
    let mut connected = None;
    for _ in 0..100 {
        let answer = http
            .put(app.url("/v1/orgs/org_acme/plugins/vapi"))
            .bearer_auth(&jwt)
            .json(&json!({"publicApiKey": "public-key-0001", "privateApiKey": private_key}))
            .send()
            .await
            .unwrap();
        if answer.status() == StatusCode::OK {
            connected = Some(answer.json::<serde_json::Value>().await.unwrap());
            break;
        }
        eventually(Duration::from_millis(100), || false).await;
    }
    let webhook_secret = connected.expect("connected once the subscription applied")["webhookSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = http
        .post(app.url("/v1/widget/org_acme/sessions"))
        .json(&json!({"name": "Ada", "email": "ada@example.com"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    http.get(app.url("/v1/widget/org_acme/sessions/current"))
        .header("X-Contact-Session", token)
        .send()
        .await
        .unwrap();
    http.get(app.url("/v1/widget/org_acme/sessions/current"))
        .header("X-Contact-Session", "cs_x.wrongwrongwrongwrongwrongwrongwrongwrong1")
        .send()
        .await
        .unwrap();
    http.get(app.url("/v1/orgs/org_acme/vapi/assistants")).bearer_auth(&jwt).send().await.unwrap();
    http.post(app.url("/webhooks/vapi/org_acme"))
        .header("X-Vapi-Secret", &webhook_secret)
        .json(&json!({"message": {"type": "hang"}}))
        .send()
        .await
        .unwrap();

    let output = app.output();
    assert!(output.contains("Vapi connected"), "the log was captured:\n{output}");
    let secrets = [
        ("the Vapi private key", private_key),
        ("the Vapi webhook secret", webhook_secret.as_str()),
        ("a Clerk JWT", jwt.as_str()),
        ("a contact session token", token),
        ("the Clerk webhook secret", WEBHOOK_SECRET),
        ("a Svix signature", signature.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(!output.contains(secret), "{what} appeared in the output");
    }
}

/// nats-server does not lock its JetStream store: an orphaned server would share it with the
/// one the next start runs. So the bundled server must die with assist, SIGKILL included.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_sigkilled_assist_takes_its_bundled_nats_server_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::sync::Arc::default();
    let env = [
        ("ASSIST_DB", "mem://".to_owned()),
        ("ASSIST_DATA_DIR", dir.path().display().to_string()),
        ("ASSIST_NATS_URL", String::new()),
    ];
    let (mut child, _) = crate::process::spawn_assist(&env, output).await;
    let ports = std::fs::read_dir(dir.path().join("nats/ports")).unwrap();
    let name = ports.flatten().next().expect("the bundled server's ports file").file_name();
    let pid = name.to_string_lossy().trim_end_matches(".ports").rsplit('_').next().unwrap().to_owned();
    let running = move || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        !stat.is_empty() && !stat.contains(") Z ")
    };
    assert!(running(), "the bundled nats-server runs");

    child.kill().await.unwrap();
    assert!(eventually(Duration::from_secs(10), || !running()).await, "it died with assist");
}
