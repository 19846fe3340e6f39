//! What the fake OpenAI answers, as plain functions of the request: the checks OpenAI makes,
//! the hashed-word embeddings, and the chunks of a streamed chat completion.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{Value, json};

use super::openai::{EmbeddingMode, Script};

/// OpenAI's default size for the text-embedding-3-small model.
const NATIVE_DIMENSIONS: u64 = 1536;
const MAX_DIMENSIONS: u64 = 3072;
/// OpenAI's limit of inputs per embeddings request.
const MAX_INPUTS: usize = 2048;
/// How long a stalled answer stays silent: longer than any test.
pub const STALL: Duration = Duration::from_secs(3600);

/// One step of a chat answer.
#[derive(Clone, Debug)]
pub enum Piece {
    /// Text, sent after the pause.
    Text(String, Duration),
    Tool {
        name: String,
        arguments: String,
    },
    /// Silence, the connection left open.
    Stall,
    /// An event that is not JSON.
    Garbage,
    /// The connection closes here, without `[DONE]`.
    Cut,
}

/// Lowercased runs of letters and digits.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase).collect()
}

/// `text` split after each space, so the pieces put back together are `text` again.
pub fn words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_owned).collect()
}

fn fnv1a(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// Words (weight 1) and word pairs (weight ½) hashed into signed buckets, L2-normalized.
pub fn embedding(text: &str, dimensions: usize) -> Vec<f32> {
    let words = tokens(text);
    let pairs = words.windows(2).map(|pair| (format!("{} {}", pair[0], pair[1]), 0.5));
    let mut vector = vec![0.0f32; dimensions];
    for (feature, weight) in words.iter().map(|w| (w.clone(), 1.0)).chain(pairs) {
        let hash = fnv1a(&feature);
        let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
        vector[(hash % dimensions as u64) as usize] += sign * weight;
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        vector[0] = 1.0;
        return vector;
    }
    vector.iter().map(|x| x / norm).collect()
}

/// The answer to `POST /v1/embeddings`, or the message of OpenAI's 400.
pub fn embeddings(request: &Value, mode: &EmbeddingMode) -> Result<Value, String> {
    let model =
        request["model"].as_str().filter(|m| !m.is_empty()).ok_or("you must provide a model parameter")?;
    let inputs: Vec<&str> = match &request["input"] {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().map(Value::as_str).collect::<Option<_>>().ok_or("'$.input' is invalid: the fake takes strings only")?,
        _ => return Err("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.".into()),
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS || inputs.iter().any(|text| text.is_empty()) {
        return Err("'$.input' is invalid: it must be a non-empty string or a non-empty array of at most 2048 non-empty strings".into());
    }
    match request.get("encoding_format") {
        None => {}
        Some(format) if format == "float" => {}
        Some(format) => return Err(format!("the fake answers encoding_format 'float' only, not {format}")),
    }
    let dimensions = match request.get("dimensions") {
        None => NATIVE_DIMENSIONS,
        Some(value) => value
            .as_u64()
            .filter(|d| (1..=MAX_DIMENSIONS).contains(d))
            .ok_or_else(|| format!("Invalid value for 'dimensions': {value}"))?,
    };
    let dimensions = match mode {
        EmbeddingMode::Dimensions(forced) => *forced,
        _ => dimensions as usize,
    };
    if matches!(mode, EmbeddingMode::Malformed) {
        return Ok(json!({"object": "list", "data": "the vectors are elsewhere"}));
    }
    let mut data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": embedding(text, dimensions)}))
        .collect();
    if matches!(mode, EmbeddingMode::MissingVector) {
        data.pop();
    }
    let tokens: usize = inputs.iter().map(|text| tokens(text).len()).sum();
    Ok(
        json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}),
    )
}

/// The checks OpenAI makes of a chat request that matter here.
pub fn check_chat(request: &Value) -> Result<(), String> {
    request["model"].as_str().filter(|m| !m.is_empty()).ok_or("you must provide a model parameter")?;
    let messages = request["messages"]
        .as_array()
        .filter(|m| !m.is_empty())
        .ok_or("'messages' must be a non-empty array")?;
    for (at, message) in messages.iter().enumerate() {
        let role = message["role"].as_str().unwrap_or_default();
        if !["system", "developer", "user", "assistant", "tool"].contains(&role) {
            return Err(format!("Invalid value for 'messages[{at}].role': {role:?}"));
        }
        if !message["content"].is_string() {
            return Err(format!("'messages[{at}].content' must be a string"));
        }
    }
    for (at, tool) in request["tools"].as_array().into_iter().flatten().enumerate() {
        if tool["type"] != "function" || !tool["function"]["name"].is_string() {
            return Err(format!("Invalid value for 'tools[{at}]': a function with a name"));
        }
    }
    if request.get("stream_options").is_some() && request["stream"] != json!(true) {
        return Err("The 'stream_options' parameter is only allowed when 'stream' is enabled.".into());
    }
    Ok(())
}

/// The steps of the answer: the script's, or the default one.
pub fn pieces(request: &Value, script: Option<Script>) -> Vec<Piece> {
    let texts = |pieces: Vec<String>| pieces.into_iter().map(|p| Piece::Text(p, Duration::ZERO));
    match script {
        None => texts(words(&default_answer(request))).collect(),
        Some(Script::Text { pieces, delay }) => pieces.into_iter().map(|p| Piece::Text(p, delay)).collect(),
        Some(Script::ToolCalls { text, calls }) => texts(words(&text))
            .chain(calls.into_iter().map(|(name, arguments)| Piece::Tool { name, arguments }))
            .collect(),
        Some(Script::StallAfter(pieces)) => texts(pieces).chain([Piece::Stall]).collect(),
        Some(Script::CutAfter(pieces)) => texts(pieces).chain([Piece::Cut]).collect(),
        Some(Script::Malformed) => vec![Piece::Garbage],
        // Answered before the body.
        Some(Script::Status { .. } | Script::Stall) => Vec::new(),
    }
}

/// Quotes the first source of the prompt: the text of the first `<source …>…</source>`, else
/// of the first line starting with `> `, in any message.
pub fn default_answer(request: &Value) -> String {
    let contents = request["messages"].as_array().into_iter().flatten().filter_map(|m| m["content"].as_str());
    for content in contents {
        if let Some(start) = content.find("<source") {
            let rest = &content[start..];
            if let (Some(open), Some(close)) = (rest.find('>'), rest.find("</source>")) {
                if open < close {
                    return format!("According to our documents: {}", rest[open + 1..close].trim());
                }
            }
        }
        if let Some(line) = content.lines().find_map(|line| line.strip_prefix("> ")) {
            return format!("According to our documents: {}", line.trim());
        }
    }
    "I do not know; let me find someone who does.".to_owned()
}

fn usage(request: &Value, pieces: &[Piece]) -> Value {
    let prompt: usize = request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| tokens(m["content"].as_str().unwrap_or_default()).len())
        .sum();
    let completion: usize = pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text, _) => tokens(text).len(),
            Piece::Tool { arguments, .. } => tokens(arguments).len(),
            _ => 0,
        })
        .sum();
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// The server-sent events of a streamed answer, each with the pause before it.
pub fn events(request: &Value, pieces: Vec<Piece>) -> VecDeque<(Duration, String)> {
    let include_usage = request["stream_options"]["include_usage"] == json!(true);
    let model = request["model"].clone();
    let chunk = |choices: Value| {
        let mut chunk = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_767_225_600, "model": model, "system_fingerprint": "fp_fake", "choices": choices});
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        format!("data: {chunk}\n\n")
    };
    let delta =
        |delta: Value| chunk(json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]));
    let mut events = VecDeque::from([(
        Duration::ZERO,
        delta(json!({"role": "assistant", "content": "", "refusal": null})),
    )]);
    let mut calls = 0;
    for piece in &pieces {
        match piece {
            Piece::Text(text, pause) => events.push_back((*pause, delta(json!({"content": text})))),
            Piece::Tool { name, arguments } => {
                let first = json!({"index": calls, "id": format!("call_{calls}"), "type": "function", "function": {"name": name, "arguments": ""}});
                events.push_back((Duration::ZERO, delta(json!({"tool_calls": [first]}))));
                let half = arguments
                    .char_indices()
                    .nth(arguments.chars().count() / 2)
                    .map_or(arguments.len(), |(at, _)| at);
                for part in [&arguments[..half], &arguments[half..]] {
                    let fragment = json!({"index": calls, "function": {"arguments": part}});
                    events.push_back((Duration::ZERO, delta(json!({"tool_calls": [fragment]}))));
                }
                calls += 1;
            }
            Piece::Stall => {
                events.push_back((STALL, String::new()));
                return events;
            }
            Piece::Garbage => {
                events.push_back((Duration::ZERO, "data: {\"choices\": [{\"delta\": \n\n".to_owned()))
            }
            Piece::Cut => return events,
        }
    }
    let finish = if calls > 0 { "tool_calls" } else { "stop" };
    events.push_back((
        Duration::ZERO,
        chunk(json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": finish}])),
    ));
    if include_usage {
        let mut last = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_767_225_600, "model": request["model"], "choices": []});
        last["usage"] = usage(request, &pieces);
        events.push_back((Duration::ZERO, format!("data: {last}\n\n")));
    }
    events.push_back((Duration::ZERO, "data: [DONE]\n\n".to_owned()));
    events
}

/// A non-streamed answer (`stream` false or absent).
pub fn whole(request: &Value, pieces: &[Piece]) -> Value {
    let text: String = pieces
        .iter()
        .filter_map(|p| if let Piece::Text(t, _) = p { Some(t.as_str()) } else { None })
        .collect();
    let calls: Vec<Value> = pieces
        .iter()
        .filter_map(|p| if let Piece::Tool { name, arguments } = p { Some((name, arguments)) } else { None })
        .enumerate()
        .map(|(at, (name, arguments))| json!({"id": format!("call_{at}"), "type": "function", "function": {"name": name, "arguments": arguments}}))
        .collect();
    let mut message =
        json!({"role": "assistant", "content": (!text.is_empty()).then_some(text), "refusal": null});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls.clone());
    }
    let finish = if calls.is_empty() { "stop" } else { "tool_calls" };
    json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_767_225_600, "model": request["model"],
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage(request, pieces),
    })
}
