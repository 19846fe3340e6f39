//! The knowledge base through the API: documents added as JSON or files of each type, read and
//! embedded in the background (the fake OpenAI-compatible provider embeds), searched, deleted;
//! bad input refused naming the field; a refusing provider fails the document with its reason.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::events::Stream;
use crate::fakes::openai::EmbeddingMode;
use crate::helpers::{Answer, TestApp, spawn_app, spawn_app_with};

const ORG: &str = "org_books";
pub const RETURNS: &str = "Returns are accepted within 45 days of delivery when the item is unused.";
const SHIPPING: &str = "We ship to Norway, Sweden and Denmark; delivery takes three to five days.";

pub async fn add_text(app: &TestApp, org: &str, title: &str, text: &str) -> Answer {
    app.post(
        &format!("/v1/orgs/{org}/knowledge"),
        Some(&app.token(org)),
        &json!({"title": title, "text": text}),
    )
    .await
}

pub async fn upload(app: &TestApp, org: &str, token: &str, file: Part, title: Option<&str>) -> Answer {
    let mut form = Form::new().part("file", file);
    if let Some(title) = title {
        form = form.text("title", title.to_owned());
    }
    let response = app
        .http
        .post(app.url(&format!("/v1/orgs/{org}/knowledge")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("the edge answers");
    crate::helpers::answer(response).await
}

pub fn file(name: &str, media: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_owned()).mime_str(media).expect("a media type")
}

/// The document once it is no longer `processing`.
pub async fn settled(app: &TestApp, org: &str, id: &str) -> Value {
    let path = format!("/v1/orgs/{org}/knowledge/{id}");
    for _ in 0..400 {
        let got = app.get(&path, Some(&app.token(org))).await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        if got.body["status"] != "processing" {
            return got.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("document {id} of {org} still processing");
}

pub async fn search(app: &TestApp, org: &str, query: &str) -> Vec<Value> {
    let found = app
        .post(&format!("/v1/orgs/{org}/knowledge/search"), Some(&app.token(org)), &json!({"query": query}))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    found.body["items"].as_array().expect("items").clone()
}

/// A one-page PDF showing `lines` in Helvetica, with a correct cross-reference table.
pub fn pdf(lines: &[&str]) -> Vec<u8> {
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("BT /F1 12 Tf 72 {} Td ({line}) Tj ET\n", 720 - 16 * i))
        .collect();
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{text}endstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    out
}

#[tokio::test]
async fn a_document_is_read_embedded_announced_and_found() {
    let app = spawn_app().await;
    let mut operators = Stream::operator(&app, ORG).await;
    let added = add_text(&app, ORG, "Returns policy", RETURNS).await;
    assert_eq!(added.status, StatusCode::ACCEPTED, "{}", added.body);
    assert_eq!(added.body["status"], "processing");
    assert_eq!(added.body["contentType"], "text/plain");
    let id = added.body["id"].as_str().unwrap().to_owned();
    let announced = operators.next().await;
    assert_eq!(
        (announced.event.as_str(), &announced.data["status"]),
        ("knowledge.updated", &json!("processing"))
    );
    let ready = operators.next().await;
    assert_eq!((ready.event.as_str(), &ready.data["status"]), ("knowledge.updated", &json!("ready")));
    assert_eq!(ready.data["id"], id.as_str());

    let document = settled(&app, ORG, &id).await;
    assert_eq!(document["status"], "ready");
    assert_eq!(document["chunks"], 1);
    assert_eq!(document["error"], Value::Null);
    add_text(&app, ORG, "Shipping", SHIPPING).await;
    let hits = search(&app, ORG, "how many days do I have for returns").await;
    assert_eq!(hits[0]["documentId"], id.as_str());
    assert_eq!(hits[0]["title"], "Returns policy");
    assert_eq!(hits[0]["text"], RETURNS);
    assert!(hits[0]["score"].as_f64().unwrap() > 0.2, "{hits:?}");
    let listed = app.get(&format!("/v1/orgs/{ORG}/knowledge?limit=1"), Some(&app.token(ORG))).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "{}", listed.body);
    assert!(listed.body["nextCursor"].is_string(), "{}", listed.body);
}

#[tokio::test]
async fn files_of_every_readable_type_become_searchable_documents() {
    let app = spawn_app().await;
    let token = app.token(ORG);
    let html =
        format!("<html><body><h1>Shipping</h1><p>{SHIPPING}</p><script>track()</script></body></html>");
    let markdown = format!("# Returns\n\n{RETURNS}\n\n## Exchanges\n\nExchanges are free of charge.\n");
    let files = [
        file("shipping.html", "text/html", html.into_bytes()),
        file("returns.md", "application/octet-stream", markdown.into_bytes()),
        file("hours.txt", "text/plain", b"The shop opens at nine and closes at six.".to_vec()),
        file("warranty.pdf", "application/pdf", pdf(&["Every kettle carries a warranty of two years."])),
    ];
    let mut ids = Vec::new();
    for part in files {
        let added = upload(&app, ORG, &token, part, None).await;
        assert_eq!(added.status, StatusCode::ACCEPTED, "{}", added.body);
        ids.push(added.body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let document = settled(&app, ORG, id).await;
        assert_eq!(document["status"], "ready", "{document}");
    }
    let types: Vec<Value> = futures_types(&app, &ids).await;
    assert_eq!(types, ["text/html", "text/markdown", "text/plain", "application/pdf"]);
    let hits = search(&app, ORG, "warranty of the kettle").await;
    assert_eq!(hits[0]["title"], "warranty.pdf", "{hits:?}");
    assert!(hits[0]["text"].as_str().unwrap().contains("two years"), "{hits:?}");
    let hits = search(&app, ORG, "ship to Norway").await;
    assert!(!hits[0]["text"].as_str().unwrap().contains("track()"), "scripts are not text: {hits:?}");
    let titled = upload(
        &app,
        ORG,
        &token,
        file("x.txt", "text/plain", b"Gift cards never expire.".to_vec()),
        Some("Gift cards"),
    )
    .await;
    assert_eq!(titled.body["title"], "Gift cards");
}

async fn futures_types(app: &TestApp, ids: &[String]) -> Vec<Value> {
    let mut types = Vec::new();
    for id in ids {
        types.push(app.get(&format!("/v1/orgs/{ORG}/knowledge/{id}"), Some(&app.token(ORG))).await.body["contentType"].clone());
    }
    types
}

#[tokio::test]
async fn bad_documents_are_refused_naming_the_field_and_members_only_read() {
    let app = spawn_app().await;
    let token = app.token(ORG);
    let refused =
        upload(&app, ORG, &token, file("logo.png", "image/png", vec![0x89, b'P', b'N', b'G']), None).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    assert!(refused.error_message().contains("image/png"), "{}", refused.body);
    let big =
        upload(&app, ORG, &token, file("big.txt", "text/plain", vec![b'a'; 10 * 1024 * 1024 + 1]), None)
            .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", big.body);
    let long_text = add_text(&app, ORG, "Long", &"word ".repeat(120_000)).await;
    assert_eq!(long_text.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", long_text.body);
    for (body, field) in [
        (json!({"title": "Empty", "text": "   "}), "text"),
        (json!({"title": "x".repeat(201), "text": "fine"}), "title"),
        (json!({"title": "Extra", "text": "fine", "url": "x"}), "url"),
    ] {
        let answer = app.post(&format!("/v1/orgs/{ORG}/knowledge"), Some(&token), &body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer.error_message().contains(field), "{field}: {}", answer.body);
    }
    let no_file = app
        .http
        .post(app.url(&format!("/v1/orgs/{ORG}/knowledge")))
        .bearer_auth(&token)
        .multipart(Form::new().text("title", "Nothing"))
        .send()
        .await
        .unwrap();
    let no_file = crate::helpers::answer(no_file).await;
    assert_eq!(no_file.status, StatusCode::BAD_REQUEST);
    assert!(no_file.error_message().starts_with("file:"), "{}", no_file.body);

    let id = add_text(&app, ORG, "Returns", RETURNS).await.body["id"].as_str().unwrap().to_owned();
    settled(&app, ORG, &id).await;
    let member = app.clerk.token().org(ORG).role("org:member").user("user_member").sign();
    let denied = app
        .post(&format!("/v1/orgs/{ORG}/knowledge"), Some(&member), &json!({"title": "t", "text": "t"}))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    let denied = upload(&app, ORG, &member, file("a.txt", "text/plain", b"text".to_vec()), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    let path = format!("/v1/orgs/{ORG}/knowledge/{id}");
    let denied = app.send(reqwest::Method::DELETE, &path, Some(&member), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    assert_eq!(app.get(&path, Some(&member)).await.status, StatusCode::OK);
    let found = app
        .post(&format!("/v1/orgs/{ORG}/knowledge/search"), Some(&member), &json!({"query": "returns"}))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let bad = app
        .post(&format!("/v1/orgs/{ORG}/knowledge/search"), Some(&member), &json!({"query": "x", "limit": 50}))
        .await;
    assert!(bad.error_message().starts_with("limit:"), "{}", bad.body);
}

#[tokio::test]
async fn a_deleted_document_leaves_search_at_once() {
    let app = spawn_app().await;
    let id = add_text(&app, ORG, "Returns", RETURNS).await.body["id"].as_str().unwrap().to_owned();
    settled(&app, ORG, &id).await;
    assert_eq!(search(&app, ORG, "returns within 45 days").await.len(), 1);
    let path = format!("/v1/orgs/{ORG}/knowledge/{id}");
    let deleted = app.send(reqwest::Method::DELETE, &path, Some(&app.token(ORG)), None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert!(search(&app, ORG, "returns within 45 days").await.is_empty());
    assert_eq!(app.get(&path, Some(&app.token(ORG))).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_same_content_is_embedded_once() {
    let app = spawn_app().await;
    let first = add_text(&app, ORG, "Returns", RETURNS).await.body["id"].as_str().unwrap().to_owned();
    settled(&app, ORG, &first).await;
    let embedded = app.openai.bodies("/v1/embeddings").len();
    let again = add_text(&app, ORG, "Returns again", RETURNS).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body["id"], first.as_str(), "the document already made of it");
    assert_eq!(again.body["status"], "ready");
    assert_eq!(app.openai.bodies("/v1/embeddings").len(), embedded, "nothing embedded twice");
}

#[tokio::test]
async fn a_refusing_provider_fails_the_document_with_its_reason_and_readding_retries() {
    let app = spawn_app().await;
    app.openai.fail_next(1_000, 401, None);
    let id = add_text(&app, ORG, "Returns", RETURNS).await.body["id"].as_str().unwrap().to_owned();
    let failed = settled(&app, ORG, &id).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["chunks"], 0);
    let reason = failed["error"].as_str().unwrap();
    assert!(reason.contains("refused"), "{reason}");
    assert!(!reason.contains(crate::fakes::openai::TEST_KEY), "no key in a reason: {reason}");
    app.openai.fail_next(0, 200, None);
    assert!(search(&app, ORG, "returns within 45 days").await.is_empty(), "nothing half-indexed");

    let retried = add_text(&app, ORG, "Returns", RETURNS).await;
    let retried = retried.body["id"].as_str().unwrap().to_owned();
    assert_ne!(retried, id, "a failed document is replaced");
    assert_eq!(settled(&app, ORG, &retried).await["status"], "ready");
    assert_eq!(search(&app, ORG, "returns within 45 days").await.len(), 1);
    let gone = app.get(&format!("/v1/orgs/{ORG}/knowledge/{id}"), Some(&app.token(ORG))).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    app.openai.embeddings_mode(EmbeddingMode::MissingVector);
    let short =
        add_text(&app, ORG, "Hours", "Open from nine to six.").await.body["id"].as_str().unwrap().to_owned();
    let failed = settled(&app, ORG, &short).await;
    assert_eq!(failed["status"], "failed", "{failed}");
}

#[tokio::test]
async fn a_pdf_with_no_text_fails_saying_why() {
    let app = spawn_app().await;
    let added = upload(&app, ORG, &app.token(ORG), file("scan.pdf", "application/pdf", pdf(&[])), None).await;
    let failed = settled(&app, ORG, added.body["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("no text"), "{failed}");
    let damaged = upload(
        &app,
        ORG,
        &app.token(ORG),
        file("bad.pdf", "application/pdf", b"%PDF-1.4 nonsense".to_vec()),
        None,
    )
    .await;
    let failed = settled(&app, ORG, damaged.body["id"].as_str().unwrap()).await;
    assert!(failed["error"].as_str().unwrap().contains("PDF"), "{failed}");
}

#[tokio::test]
async fn without_an_ai_key_every_knowledge_route_names_the_missing_setting() {
    let app = spawn_app_with(|config| config.ai.api_key = None).await;
    let token = app.token(ORG);
    let base = format!("/v1/orgs/{ORG}/knowledge");
    let answers = [
        add_text(&app, ORG, "Returns", RETURNS).await,
        app.get(&base, Some(&token)).await,
        app.get(&format!("{base}/doc_1"), Some(&token)).await,
        app.send(reqwest::Method::DELETE, &format!("{base}/doc_1"), Some(&token), None).await,
        app.post(&format!("{base}/search"), Some(&token), &json!({"query": "returns"})).await,
    ];
    for answer in answers {
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{}", answer.body);
        assert!(answer.error_message().contains("ASSIST_AI_API_KEY"), "{}", answer.body);
    }
}

#[tokio::test]
async fn a_document_finishes_while_its_org_is_passivated() {
    let app = spawn_app().await;
    app.openai.embeddings_mode(EmbeddingMode::Slow(Duration::from_millis(400)));
    let id = add_text(&app, ORG, "Returns", RETURNS).await.body["id"].as_str().unwrap().to_owned();
    let org = assist::ids::OrgId::parse(ORG).unwrap();
    app.tenants.passivate(&org).await.unwrap();
    assert!(!app.tenants.is_active(&org));
    // The report wakes the org; nothing is ingested twice.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(settled(&app, ORG, &id).await["status"], "ready");
    assert_eq!(app.openai.bodies("/v1/embeddings").len(), 1);
}

#[tokio::test]
async fn many_documents_of_one_org_are_read_at_once_while_the_org_keeps_writing() {
    let app = spawn_app().await;
    let (app, token) = (&app, app.token(ORG));
    let adds = (0..8).map(|i| {
        let text = format!("Branch {i} opens at {} in the morning. {RETURNS}", 7 + i);
        async move { add_text(app, ORG, &format!("Branch {i}"), &text).await }
    });
    let settings = crate::helpers::custom_settings();
    let (added, saved) = tokio::join!(futures::future::join_all(adds), async {
        let mut statuses = Vec::new();
        for _ in 0..10 {
            statuses.push(
                app.put(&format!("/v1/orgs/{ORG}/widget-settings"), Some(&token), &settings).await.status,
            );
        }
        statuses
    });
    assert!(saved.iter().all(|s| *s == StatusCode::OK), "the org's own writes go on: {saved:?}");
    for document in added {
        assert_eq!(document.status, StatusCode::ACCEPTED, "{}", document.body);
        let settled = settled(app, ORG, document.body["id"].as_str().unwrap()).await;
        assert_eq!(settled["status"], "ready", "{settled}");
    }
}
