//! The AI gateway through NATS, against the fake OpenAI-compatible API: what `bus::ai::embed`
//! and `bus::ai::chat` give assist's actors, and the discipline behind them (retries honouring
//! `Retry-After`, the breaker, the per-org limit, timeouts, clear errors, a key that never
//! shows).

use std::time::Duration;

use assist::bus::ai::{self, ChatEvent, ChatMessage, ChatRequest, ChatRole, EmbedReply, Tool};
use assist::error::{ApiError, ErrorCode};
use assist::ids::OrgId;
use futures::StreamExt;
use serde_json::json;
use tokio::time::Instant;

use crate::fakes::openai::{EmbeddingMode, Script, TEST_KEY, cosine, embedding};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const DEADLINE: Duration = Duration::from_secs(10);
const EMBEDDINGS: &str = "/v1/embeddings";
const CHAT: &str = "/v1/chat/completions";

fn org(id: &str) -> OrgId {
    OrgId::parse(id).unwrap()
}

async fn embed(app: &TestApp, org_id: &str, texts: &[&str]) -> Result<EmbedReply, ApiError> {
    let nats = app.backend_nats().await;
    let input = texts.iter().map(|t| t.to_string()).collect();
    ai::embed(&nats, &org(org_id), input, DEADLINE).await
}

fn ask(question: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage { role: ChatRole::System, content: "You answer from the sources.".into() },
            ChatMessage { role: ChatRole::User, content: question.into() },
        ],
        tools: Vec::new(),
    }
}

/// Every message of the answer, the error that ended it included.
async fn chat(app: &TestApp, request: &ChatRequest) -> Vec<Result<ChatEvent, ApiError>> {
    let nats = app.backend_nats().await;
    match ai::chat(&nats, &org("org_chat"), request, DEADLINE).await {
        Ok(events) => events.collect().await,
        Err(err) => vec![Err(err)],
    }
}

fn text_of(events: &[Result<ChatEvent, ApiError>]) -> String {
    events
        .iter()
        .filter_map(|e| if let Ok(ChatEvent::Delta { text }) = e { Some(text.as_str()) } else { None })
        .collect()
}

fn final_error(events: &[Result<ChatEvent, ApiError>]) -> ApiError {
    match events.last() {
        Some(Err(err)) => err.clone(),
        other => panic!("the answer should end with an error, got {other:?}"),
    }
}

#[tokio::test]
async fn embeddings_come_back_one_per_text_and_similar_texts_score_closer() {
    let app = spawn_app().await;
    let texts = [
        "Refunds: items can be returned within 30 days for a full refund.",
        "How many days do I have to return an item for a refund?",
        "Our office opens at nine in the morning.",
    ];

    let reply = embed(&app, "org_a", &texts).await.expect("embeddings");

    assert_eq!(reply.embeddings.len(), 3);
    assert!(reply.embeddings.iter().all(|v| v.len() == 256));
    assert_eq!(reply.embeddings[2], embedding(texts[2], 256), "in input order");
    let (close, far) = (
        cosine(&reply.embeddings[0], &reply.embeddings[1]),
        cosine(&reply.embeddings[0], &reply.embeddings[2]),
    );
    assert!(close > far + 0.1, "related {close} vs unrelated {far}");
    assert!(reply.usage.input_tokens > 0 && reply.usage.output_tokens == 0, "{:?}", reply.usage);
    let sent = &app.openai.requests()[0];
    assert_eq!(sent.authorization.as_deref(), Some(format!("Bearer {TEST_KEY}").as_str()));
    assert_eq!(sent.body["model"], "text-embedding-3-small");
    assert_eq!(sent.body["dimensions"], 256);
    assert_eq!(sent.body["encoding_format"], "float");
}

#[tokio::test]
async fn long_lists_are_sent_in_batches_and_come_back_in_order() {
    let app = spawn_app_with(|config| config.ai.embedding_batch = 4).await;
    let texts: Vec<String> = (0..10).map(|i| format!("passage number {i} about topic {}", i * 7)).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();

    let reply = embed(&app, "org_a", &texts).await.expect("embeddings");

    let sizes: Vec<usize> =
        app.openai.bodies(EMBEDDINGS).iter().map(|b| b["input"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, vec![4, 4, 2]);
    for (text, vector) in texts.iter().zip(&reply.embeddings) {
        assert_eq!(vector, &embedding(text, 256), "{text}");
    }
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_as_retry_after_asks() {
    let app = spawn_app().await;
    app.openai.fail_next(1, 429, Some(1));

    let started = Instant::now();
    let reply = embed(&app, "org_a", &["hello there"]).await.expect("embeddings after the wait");

    assert_eq!(reply.embeddings.len(), 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(app.openai.bodies(EMBEDDINGS).len(), 2);
}

#[tokio::test]
async fn a_chat_rate_limit_is_retried_before_the_answer_starts() {
    let app = spawn_app().await;
    app.openai.script(Script::Status { status: 429, retry_after: Some(1) });
    app.openai.script(Script::text("Hello again."));

    let events = chat(&app, &ask("hi")).await;

    assert_eq!(text_of(&events), "Hello again.");
    assert_eq!(app.openai.bodies(CHAT).len(), 2);
}

#[tokio::test]
async fn server_errors_are_unavailable_and_open_the_breaker_until_it_cools_down() {
    let app = spawn_app_with(|config| {
        config.ai.breaker_failures = 2;
        config.ai.max_attempts = 2;
    })
    .await;
    app.openai.fail_next(100, 500, None);

    let err = embed(&app, "org_a", &["one"]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unavailable, "{err:?}");
    assert!(err.message.contains("embedding provider is unavailable"), "{}", err.message);
    assert_eq!(app.openai.requests().len(), 2);

    let refused = embed(&app, "org_b", &["two"]).await.unwrap_err();
    assert!(refused.message.contains("circuit breaker is open"), "{}", refused.message);
    assert_eq!(app.openai.requests().len(), 2, "an open breaker calls nobody");

    app.openai.fail_next(0, 500, None);
    tokio::time::sleep(Duration::from_millis(600)).await;
    embed(&app, "org_a", &["three"]).await.expect("the breaker closes after the cooldown");
}

#[tokio::test]
async fn one_orgs_flood_does_not_hold_up_another() {
    let app = spawn_app_with(|config| config.ai.per_org_concurrency = 2).await;
    app.openai.embeddings_mode(EmbeddingMode::Slow(Duration::from_millis(400)));
    let nats = app.backend_nats().await;

    let started = Instant::now();
    let flood: Vec<_> = (0..6)
        .map(|i| {
            let nats = nats.clone();
            tokio::spawn(async move {
                ai::embed(&nats, &org("org_flood"), vec![format!("text {i}")], DEADLINE).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    ai::embed(&nats, &org("org_quiet"), vec!["quiet".into()], DEADLINE).await.expect("the quiet org");
    let quiet = started.elapsed();
    for call in flood {
        call.await.unwrap().expect("the flood is served in turn");
    }

    assert!(quiet < Duration::from_millis(900), "the quiet org waited {quiet:?}");
    assert!(started.elapsed() >= Duration::from_millis(1200), "the flood ran two at a time");
    assert!(app.openai.max_in_flight() <= 3, "{} at once", app.openai.max_in_flight());
}

#[tokio::test]
async fn a_stalled_provider_times_out() {
    let app = spawn_app_with(|config| {
        config.ai.call_timeout = Duration::from_millis(300);
        config.ai.stream_idle_timeout = Duration::from_millis(300);
        config.ai.max_attempts = 2;
    })
    .await;
    app.openai.embeddings_mode(EmbeddingMode::Slow(Duration::from_secs(30)));

    let started = Instant::now();
    let err = embed(&app, "org_a", &["anyone there?"]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unavailable);
    assert!(err.message.contains("no answer within 300 ms"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    app.openai.script(Script::StallAfter(vec!["Let me ".into()]));
    let events = chat(&app, &ask("hi")).await;
    assert_eq!(text_of(&events), "Let me ");
    let err = final_error(&events);
    assert!(err.message.contains("fell silent"), "{}", err.message);
}

#[tokio::test]
async fn malformed_embeddings_are_errors() {
    let app = spawn_app().await;
    for (mode, expected) in [
        (EmbeddingMode::Malformed, "not an embedding list"),
        (EmbeddingMode::MissingVector, "1 vectors for 2 texts"),
        (EmbeddingMode::Dimensions(12), "ASSIST_AI_EMBEDDING_DIMENSIONS"),
    ] {
        app.openai.embeddings_mode(mode);
        let err = embed(&app, "org_a", &["one", "two"]).await.unwrap_err();
        assert!(err.message.contains("embedding provider answered something unusable"), "{}", err.message);
        assert!(err.message.contains(expected), "{}", err.message);
    }
}

#[tokio::test]
async fn malformed_chat_answers_are_errors() {
    let app = spawn_app().await;
    let handoff = ChatRequest { tools: vec![handoff_tool()], ..ask("a person please") };
    for (script, expected) in [
        (Script::Malformed, "not JSON"),
        (Script::CutAfter(vec!["Half ".into()]), "ended before [DONE]"),
        (
            Script::ToolCalls {
                text: String::new(),
                calls: vec![("handoff".into(), "{\"reason\": ".into())],
            },
            "arguments of handoff that are not JSON",
        ),
    ] {
        app.openai.script(script);
        let events = chat(&app, &handoff).await;
        let err = final_error(&events);
        assert!(err.message.contains("chat provider answered something unusable"), "{}", err.message);
        assert!(err.message.contains(expected), "{}", err.message);
        assert!(!events.iter().any(|e| matches!(e, Ok(ChatEvent::ToolCall { .. }))), "no half tool call");
    }
}

#[tokio::test]
async fn chat_streams_deltas_in_order_then_done() {
    let app = spawn_app().await;
    let pieces = ["Our ", "hours ", "are ", "nine ", "to ", "five."].map(String::from).to_vec();
    app.openai.script(Script::Text { pieces: pieces.clone(), delay: Duration::from_millis(20) });

    let events = chat(&app, &ask("When are you open?")).await;

    let deltas: Vec<String> = events
        .iter()
        .filter_map(|e| if let Ok(ChatEvent::Delta { text }) = e { Some(text.clone()) } else { None })
        .collect();
    assert_eq!(deltas, pieces);
    let Some(Ok(ChatEvent::Done { usage })) = events.last() else { panic!("ends with done: {events:?}") };
    assert!(usage.input_tokens > 0 && usage.output_tokens == 6, "{usage:?}");
    let sent = &app.openai.bodies(CHAT)[0];
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    assert_eq!(sent["messages"][1], json!({"role": "user", "content": "When are you open?"}));
    assert!(sent.get("tools").is_none());
}

fn handoff_tool() -> Tool {
    Tool {
        name: "handoff".into(),
        description: "Hand the conversation to a person".into(),
        parameters: json!({"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]}),
    }
}

#[tokio::test]
async fn a_tool_call_arrives_whole_with_parsed_arguments() {
    let app = spawn_app().await;
    app.openai.script(Script::ToolCalls {
        text: "Let me find someone.".into(),
        calls: vec![("handoff".into(), json!({"reason": "asked for a person"}).to_string())],
    });

    let events = chat(&app, &ChatRequest { tools: vec![handoff_tool()], ..ask("a person please") }).await;

    assert_eq!(text_of(&events), "Let me find someone.");
    let tail: Vec<&ChatEvent> = events.iter().rev().take(2).map(|e| e.as_ref().unwrap()).collect();
    assert!(matches!(tail[0], ChatEvent::Done { .. }), "{events:?}");
    assert_eq!(
        tail[1],
        &ChatEvent::ToolCall { name: "handoff".into(), arguments: json!({"reason": "asked for a person"}) }
    );
    let tools = &app.openai.bodies(CHAT)[0]["tools"];
    assert_eq!(tools[0]["type"], "function");
    assert_eq!(tools[0]["function"]["name"], "handoff");
    assert_eq!(tools[0]["function"]["parameters"]["required"], json!(["reason"]));
}

#[tokio::test]
async fn the_fakes_default_answer_quotes_the_first_source() {
    let app = spawn_app().await;
    let mut request = ask("Can I return shoes?");
    request.messages[0].content =
        "Answer from the sources.\n<source id=\"1\" title=\"Returns\">Returns are accepted within 30 days.</source>"
            .into();

    let events = chat(&app, &request).await;

    assert!(text_of(&events).contains("Returns are accepted within 30 days."), "{events:?}");
}

#[tokio::test]
async fn without_a_key_the_gateway_answers_503_naming_the_setting() {
    let app = spawn_app_with(|config| config.ai.api_key = None).await;

    let err = embed(&app, "org_a", &["hello"]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unavailable);
    assert!(err.message.contains("ASSIST_AI_API_KEY"), "{}", err.message);
    let err = final_error(&chat(&app, &ask("hi")).await);
    assert_eq!(err.code, ErrorCode::Unavailable);
    assert!(err.message.contains("ASSIST_AI_API_KEY"), "{}", err.message);
    assert!(app.openai.requests().is_empty());
}

#[tokio::test]
async fn a_refused_key_is_a_clear_error_that_never_shows_the_key() {
    const WRONG: &str = "sk-wrong-key-0123456789abcdef";
    let app =
        spawn_app_with(|config| config.ai.api_key = Some(assist::crypto::Secret::new(WRONG.into()))).await;

    let err = embed(&app, "org_a", &["hello"]).await.unwrap_err();
    assert!(err.message.starts_with("the embedding provider refused"), "{}", err.message);
    assert!(err.message.contains("ASSIST_AI_API_KEY"), "{}", err.message);
    let chat_err = final_error(&chat(&app, &ask("hi")).await);
    assert!(chat_err.message.starts_with("the chat provider refused"), "{}", chat_err.message);
    assert_eq!(app.openai.requests().len(), 2, "a refusal is not retried");
    for message in [&err.message, &chat_err.message] {
        assert!(!message.contains(WRONG) && !message.contains("0123456789"), "{message}");
    }
}

#[tokio::test]
async fn a_refused_request_carries_the_providers_reason() {
    let app = spawn_app_with(|config| config.ai.embedding_model = "text-embedding-3-nope".into()).await;
    app.openai.fail_next(1, 400, None);

    let err = embed(&app, "org_a", &["hello"]).await.unwrap_err();

    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert_eq!(err.message, "the embedding provider refused: 400: Invalid request.");
}
