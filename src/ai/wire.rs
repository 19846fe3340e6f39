//! The OpenAI API's JSON as assist sends and reads it: the request bodies, the embeddings list,
//! and the chunks of a streamed chat completion, with the checks that turn a wrong answer into
//! a clear error instead of a wrong vector or a lost tool call.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{AiConfig, AiError, Api};
use crate::bus::ai::{ChatEvent, ChatRequest, Usage};

/// The body of `POST /embeddings`. `dimensions` goes to the text-embedding-3 models only: they
/// shorten their vectors on request, while other models (and some compatible servers) refuse
/// the parameter, and must be configured with their native size.
pub fn embeddings_request(config: &AiConfig, input: &[String]) -> Value {
    let mut body = json!({"model": config.embedding_model, "input": input, "encoding_format": "float"});
    if config.embedding_model.starts_with("text-embedding-3") {
        body["dimensions"] = json!(config.embedding_dimensions);
    }
    body
}

/// The body of a streamed `POST /chat/completions`, usage included in its last chunk.
pub fn chat_request(config: &AiConfig, request: &ChatRequest) -> Value {
    let mut body = json!({
        "model": config.chat_model,
        "messages": request.messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({"type": "function", "function": {
                    "name": tool.name, "description": tool.description, "parameters": tool.parameters,
                }})
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    body
}

#[derive(Deserialize)]
struct EmbeddingList {
    data: Vec<Embedding>,
    #[serde(default)]
    usage: Option<EmbeddingUsage>,
}

#[derive(Deserialize)]
struct Embedding {
    index: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct EmbeddingUsage {
    prompt_tokens: u64,
}

/// One vector per input in input order, each of `dimensions` entries, or an error saying what
/// was wrong.
pub fn embeddings(body: &[u8], inputs: usize, dimensions: u32) -> Result<(Vec<Vec<f32>>, Usage), AiError> {
    let bad = |what: String| AiError::Malformed(Api::Embeddings, what);
    let list: EmbeddingList =
        serde_json::from_slice(body).map_err(|e| bad(format!("not an embedding list: {e}")))?;
    if list.data.len() != inputs {
        return Err(bad(format!("{} vectors for {inputs} texts", list.data.len())));
    }
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; inputs];
    for item in list.data {
        if item.embedding.len() != dimensions as usize {
            return Err(bad(format!(
                "a vector of {} dimensions where {dimensions} are configured \
                 (ASSIST_AI_EMBEDDING_DIMENSIONS must match the model)",
                item.embedding.len()
            )));
        }
        let slot =
            vectors.get_mut(item.index).ok_or_else(|| bad(format!("index {} out of range", item.index)))?;
        if slot.replace(item.embedding).is_some() {
            return Err(bad(format!("index {} twice", item.index)));
        }
    }
    let usage = Usage { input_tokens: list.usage.map_or(0, |u| u.prompt_tokens), output_tokens: 0 };
    // Each index was filled once and there are as many items as slots, so none is empty.
    Ok((vectors.into_iter().flatten().collect(), usage))
}

/// One `chat.completion.chunk`; only what assist reads.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallFragment>,
}

#[derive(Debug, Deserialize)]
struct ToolCallFragment {
    index: usize,
    #[serde(default)]
    function: Option<FunctionFragment>,
}

#[derive(Debug, Deserialize)]
struct FunctionFragment {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChatUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// The data of one server-sent event, which may also be an error object sent mid-stream.
pub fn chunk(data: &str) -> Result<Chunk, AiError> {
    let value: Value = serde_json::from_str(data)
        .map_err(|e| AiError::Malformed(Api::Chat, format!("a stream event that is not JSON: {e}")))?;
    if let Some(error) = value.get("error") {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("no message");
        return Err(AiError::Unavailable(Api::Chat, format!("it failed mid-answer: {message}")));
    }
    serde_json::from_value(value)
        .map_err(|e| AiError::Malformed(Api::Chat, format!("a chunk that is not a completion chunk: {e}")))
}

/// A streamed answer as it arrives: text is passed on at once, tool calls are put together
/// from their fragments (name first, arguments in pieces) and handed over at the end.
#[derive(Default)]
pub struct Assembly {
    calls: BTreeMap<usize, (String, String)>,
    usage: Usage,
}

impl Assembly {
    /// The text of `chunk`, if any; its tool-call fragments and usage are kept.
    pub fn add(&mut self, chunk: Chunk) -> Option<String> {
        if let Some(usage) = chunk.usage {
            self.usage = Usage { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens };
        }
        let mut text = String::new();
        for choice in chunk.choices {
            text.push_str(choice.delta.content.as_deref().unwrap_or(""));
            for fragment in choice.delta.tool_calls {
                let (name, arguments) = self.calls.entry(fragment.index).or_default();
                let function = fragment.function.unwrap_or(FunctionFragment { name: None, arguments: None });
                name.push_str(function.name.as_deref().unwrap_or(""));
                arguments.push_str(function.arguments.as_deref().unwrap_or(""));
            }
        }
        (!text.is_empty()).then_some(text)
    }

    /// The tool calls in the model's order, then `done`; arguments that are not a JSON object
    /// make the whole answer an error, as acting on half of it could be wrong.
    pub fn finish(self) -> Result<Vec<ChatEvent>, AiError> {
        let mut events = Vec::with_capacity(self.calls.len() + 1);
        for (name, arguments) in self.calls.into_values() {
            if name.is_empty() {
                return Err(AiError::Malformed(Api::Chat, "a tool call without a name".into()));
            }
            let arguments: Value = if arguments.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(&arguments).map_err(|e| {
                    AiError::Malformed(Api::Chat, format!("arguments of {name} that are not JSON: {e}"))
                })?
            };
            if !arguments.is_object() {
                return Err(AiError::Malformed(
                    Api::Chat,
                    format!("arguments of {name} that are not an object"),
                ));
            }
            events.push(ChatEvent::ToolCall { name, arguments });
        }
        events.push(ChatEvent::Done { usage: self.usage });
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assemble(chunks: &[&str]) -> (String, Result<Vec<ChatEvent>, AiError>) {
        let mut assembly = Assembly::default();
        let mut text = String::new();
        for data in chunks {
            text.push_str(&assembly.add(chunk(data).unwrap()).unwrap_or_default());
        }
        (text, assembly.finish())
    }

    #[test]
    fn text_and_tool_calls_are_put_together_from_their_fragments() {
        let (text, events) = assemble(&[
            r#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Let me "}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"check."}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"handoff","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"reason\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"asked\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#,
        ]);
        assert_eq!(text, "Let me check.");
        assert_eq!(
            events.unwrap(),
            vec![
                ChatEvent::ToolCall { name: "handoff".into(), arguments: json!({"reason": "asked"}) },
                ChatEvent::Done { usage: Usage { input_tokens: 12, output_tokens: 5 } },
            ]
        );
    }

    #[test]
    fn broken_tool_arguments_are_an_error() {
        let (_, events) = assemble(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"resolve","arguments":"{\"x\": tru"}}]}}]}"#,
        ]);
        assert!(matches!(events, Err(AiError::Malformed(Api::Chat, _))));
        assert!(chunk("not json").is_err());
        assert!(matches!(chunk(r#"{"error":{"message":"overloaded"}}"#), Err(AiError::Unavailable(..))));
    }

    #[test]
    fn embeddings_come_back_in_input_order_with_the_configured_size() {
        let body = br#"{"object":"list","data":[
            {"object":"embedding","index":1,"embedding":[0.0,1.0]},
            {"object":"embedding","index":0,"embedding":[1.0,0.0]}],
            "model":"m","usage":{"prompt_tokens":7,"total_tokens":7}}"#;
        let (vectors, usage) = embeddings(body, 2, 2).unwrap();
        assert_eq!(vectors, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert_eq!(usage, Usage { input_tokens: 7, output_tokens: 0 });
        assert!(embeddings(body, 3, 2).is_err(), "a missing vector");
        let error = embeddings(body, 2, 3).unwrap_err().to_string();
        assert!(error.contains("ASSIST_AI_EMBEDDING_DIMENSIONS"), "{error}");
        let twice = br#"{"data":[{"index":0,"embedding":[1.0]},{"index":0,"embedding":[1.0]}]}"#;
        assert!(embeddings(twice, 2, 1).is_err());
        assert!(embeddings(b"<html>", 1, 1).is_err());
    }

    #[test]
    fn dimensions_are_sent_to_text_embedding_3_models_only() {
        let mut config = AiConfig { embedding_dimensions: 256, ..AiConfig::default() };
        let body = embeddings_request(&config, &["a".into()]);
        assert_eq!(body["dimensions"], 256);
        assert_eq!(body["encoding_format"], "float");
        config.embedding_model = "nomic-embed-text".into();
        assert!(embeddings_request(&config, &["a".into()]).get("dimensions").is_none());
    }
}
