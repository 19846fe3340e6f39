//! Live updates: the change feed reaches operators' and end-users' streams, only theirs, and a
//! reconnecting stream misses nothing.

use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use assist::bus::subjects;
use assist::ids::OrgId;

use crate::helpers::{TestApp, custom_settings, spawn_app};

/// One received Server-Sent Event.
#[derive(Debug)]
pub(crate) struct Sse {
    pub(crate) id: u64,
    pub(crate) event: String,
    pub(crate) data: Value,
}

/// An open event stream, read event by event.
pub(crate) struct Stream {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Stream {
    async fn open(
        app: &TestApp,
        path: &str,
        header: Option<(&str, &str)>,
        last_event_id: Option<u64>,
    ) -> Stream {
        let mut request = app.http.get(app.url(path));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Stream { body: Box::pin(response.bytes_stream()), buffer: String::new() }
    }

    pub(crate) async fn operator(app: &TestApp, org: &str) -> Stream {
        let bearer = format!("Bearer {}", app.token(org));
        Stream::open(app, &format!("/v1/orgs/{org}/events"), Some(("Authorization", &bearer)), None).await
    }

    pub(crate) async fn widget(app: &TestApp, org: &str, token: &str) -> Stream {
        Stream::open(app, &format!("/v1/widget/{org}/events"), Some(("X-Contact-Session", token)), None).await
    }

    /// The next event (heartbeats skipped), or `None` if none comes within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        tokio::time::timeout(wait, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    if let Some(event) = parse(&block) {
                        return Some(event);
                    }
                    continue;
                }
                let chunk = self.body.next().await?.ok()?;
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .ok()
        .flatten()
    }

    pub(crate) async fn next(&mut self) -> Sse {
        self.next_within(Duration::from_secs(5)).await.expect("an event within 5 s")
    }
}

fn parse(block: &str) -> Option<Sse> {
    let field =
        |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim_start().to_owned());
    Some(Sse {
        id: field("id:")?.parse().ok()?,
        event: field("event:")?,
        data: serde_json::from_str(&field("data:")?).ok()?,
    })
}

#[tokio::test]
async fn a_settings_change_reaches_an_open_operator_stream() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let mut stream = Stream::operator(&app, "org_acme").await;

    app.put("/v1/orgs/org_acme/widget-settings", Some(&app.token("org_acme")), &custom_settings()).await;

    let event = stream.next().await;
    assert_eq!(event.event, "settings.updated");
    assert_eq!(event.data["welcomeMessage"], custom_settings()["welcomeMessage"]);
}

#[tokio::test]
async fn an_operator_reply_reaches_its_end_user_and_no_other() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, ada) = app.session("org_acme", "Ada").await;
    let (_, eve) = app.session("org_acme", "Eve").await;
    // The streams open first: a stream opened just after an event may or may not get it.
    let mut ada_stream = Stream::widget(&app, "org_acme", &ada).await;
    let mut eve_stream = Stream::widget(&app, "org_acme", &eve).await;
    let conversation = app.conversation("org_acme", &ada).await;
    assert_eq!(ada_stream.next().await.event, "conversation.created");
    let token = app.token("org_acme");

    let path = format!("/v1/orgs/org_acme/conversations/{conversation}/messages");
    app.post(&path, Some(&token), &json!({"text": "Hello Ada"})).await;
    app.put("/v1/orgs/org_acme/widget-settings", Some(&token), &custom_settings()).await;

    let reply = ada_stream.next().await;
    assert_eq!(reply.event, "message.created");
    assert_eq!(reply.data["text"], "Hello Ada");
    assert_eq!(reply.data["role"], "operator");
    assert_eq!(ada_stream.next().await.event, "conversation.updated", "escalated");
    assert_eq!(eve_stream.next().await.event, "settings.updated", "Eve's first event is the public one");
}

#[tokio::test]
async fn a_stream_that_reconnects_with_its_last_event_id_misses_nothing() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, ada) = app.session("org_acme", "Ada").await;
    let mut stream = Stream::widget(&app, "org_acme", &ada).await;
    let conversation = app.conversation("org_acme", &ada).await;
    assert_eq!(stream.next().await.event, "conversation.created");
    let path = format!("/v1/widget/org_acme/conversations/{conversation}/messages");
    app.widget(Method::POST, &path, Some(&ada), Some(&json!({"text": "one"}))).await;
    let last_seen = stream.next().await.id;
    drop(stream);

    for text in ["two", "three", "four"] {
        app.widget(Method::POST, &path, Some(&ada), Some(&json!({"text": text}))).await;
    }
    let mut resumed =
        Stream::open(&app, "/v1/widget/org_acme/events", Some(("X-Contact-Session", &ada)), Some(last_seen))
            .await;

    let mut texts = Vec::new();
    for _ in 0..3 {
        texts.push(resumed.next().await.data["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(texts, ["two", "three", "four"]);
}

/// An end-user's message whose text is `text`.
async fn send_text(app: &TestApp, path: &str, token: &str, text: usize) {
    app.widget(Method::POST, path, Some(token), Some(&json!({"text": text.to_string()}))).await;
}

#[tokio::test]
async fn a_stream_resuming_while_events_keep_coming_gets_each_once_in_order() {
    let app = spawn_app().await;
    app.known_org("org_acme").await;
    let (_, ada) = app.session("org_acme", "Ada").await;
    let mut stream = Stream::widget(&app, "org_acme", &ada).await;
    let conversation = app.conversation("org_acme", &ada).await;
    assert_eq!(stream.next().await.event, "conversation.created");
    let path = format!("/v1/widget/org_acme/conversations/{conversation}/messages");
    let send = |text: usize| send_text(&app, &path, &ada, text);
    send(0).await;
    let last_seen = stream.next().await.id;
    drop(stream);
    for text in 1..=5 {
        send(text).await;
    }

    // The replay (1 to 5 and whatever is stored before it catches up) and the live events race.
    let resume =
        Stream::open(&app, "/v1/widget/org_acme/events", Some(("X-Contact-Session", &ada)), Some(last_seen));
    let (mut resumed, ()) = tokio::join!(resume, async {
        for text in 6..=30 {
            send(text).await;
        }
    });

    let (mut texts, mut ids) = (Vec::new(), vec![last_seen]);
    while texts.len() < 30 {
        let event = resumed.next().await;
        ids.push(event.id);
        if event.event == "message.created" {
            texts.push(event.data["text"].as_str().unwrap().parse::<usize>().unwrap());
        }
    }
    assert_eq!(texts, (1..=30).collect::<Vec<_>>(), "no gap, no repeat");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids only grow: {ids:?}");
    assert!(resumed.next_within(Duration::from_millis(300)).await.is_none(), "nothing after the last");
}

#[tokio::test]
async fn an_event_stored_by_another_node_arrives_with_its_stream_sequence_as_id() {
    let app = spawn_app().await;
    let mut stream = Stream::operator(&app, "org_acme").await;
    let js = async_nats::jetstream::new(app.backend_nats().await);

    let subject = subjects::event(&OrgId::parse("org_acme").unwrap(), "settings", "updated");
    let stored = js.publish(subject, r#"{"from": "elsewhere"}"#.into()).await.unwrap().await.unwrap();

    let event = stream.next().await;
    assert_eq!((event.id, event.event.as_str()), (stored.sequence, "settings.updated"));
    assert_eq!(event.data["from"], "elsewhere");
}

#[tokio::test]
async fn a_stream_for_one_organization_never_carries_anothers_events() {
    let app = spawn_app().await;
    app.known_org("org_a").await;
    app.known_org("org_b").await;
    let mut stream = Stream::operator(&app, "org_a").await;

    app.put("/v1/orgs/org_b/widget-settings", Some(&app.token("org_b")), &custom_settings()).await;
    let (_, bob) = app.session("org_b", "Bob").await;
    app.conversation("org_b", &bob).await;
    let mut marker = custom_settings();
    marker["welcomeMessage"] = "org A marker".into();
    app.put("/v1/orgs/org_a/widget-settings", Some(&app.token("org_a")), &marker).await;

    let first = stream.next().await;
    assert_eq!(first.data["welcomeMessage"], "org A marker");
    assert_eq!(first.data["organizationId"], "org_a");
}

#[tokio::test]
async fn a_browser_uses_a_single_use_ticket_instead_of_a_header() {
    let app = spawn_app().await;
    let token = app.token("org_acme");
    let ticket = app.post("/v1/orgs/org_acme/events/tickets", Some(&token), &json!({})).await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
    let path = format!("/v1/orgs/org_acme/events?ticket={}", ticket.body["ticket"].as_str().unwrap());

    let mut stream = Stream::open(&app, &path, None, None).await;
    let reused = app.get(&path, None).await;

    assert_eq!(reused.status, StatusCode::UNAUTHORIZED, "single use");
    app.put("/v1/orgs/org_acme/widget-settings", Some(&token), &custom_settings()).await;
    assert_eq!(stream.next().await.event, "settings.updated");
}

#[tokio::test]
async fn streams_refuse_callers_without_credentials() {
    let app = spawn_app().await;

    assert_eq!(app.get("/v1/orgs/org_acme/events", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/v1/orgs/org_acme/events?ticket=made-up", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/v1/widget/org_acme/events", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn open_streams_end_when_the_node_shuts_down() {
    let mut app = spawn_app().await;
    let mut stream = Stream::operator(&app, "org_acme").await;

    app.shutdown();

    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = stream.body.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ended");
}
