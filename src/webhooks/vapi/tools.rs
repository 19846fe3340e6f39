//! Vapi's `tool-calls` server message: the calls of the assistant's function tools, answered in
//! the same request. assist serves one tool, `search_knowledge` (argument `query`).

use serde::Deserialize;

use crate::error::ApiError;
use crate::model::knowledge::SearchResults;

/// The tool assist answers.
pub const SEARCH_KNOWLEDGE: &str = "search_knowledge";
const MAX_QUERY: usize = 1000;

/// One call: its id, and the query to search, or why there is none.
#[derive(Debug, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub query: Option<String>,
    /// The error result when there is no query.
    pub problem: String,
}

#[derive(Deserialize)]
struct Envelope {
    message: Message,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    #[serde(default)]
    tool_call_list: Vec<Call>,
}

#[derive(Deserialize)]
struct Call {
    id: String,
    function: Function,
}

#[derive(Deserialize)]
struct Function {
    name: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

/// The message's calls; arguments may be an object or a JSON string of one.
pub fn tool_calls(body: &[u8]) -> Result<Vec<ToolCall>, ApiError> {
    let envelope: Envelope = crate::model::decode(body)?;
    Ok(envelope.message.tool_call_list.into_iter().map(read).collect())
}

fn read(call: Call) -> ToolCall {
    let refuse = |problem: String| ToolCall { id: call.id.clone(), query: None, problem };
    if call.function.name != SEARCH_KNOWLEDGE {
        return refuse(format!("unknown tool `{}`; assist answers `{SEARCH_KNOWLEDGE}`", call.function.name));
    }
    let arguments = match call.function.arguments {
        serde_json::Value::String(raw) => serde_json::from_str(&raw).unwrap_or(serde_json::Value::Null),
        other => other,
    };
    match arguments.get("query").and_then(|q| q.as_str()).map(str::trim) {
        Some(query) if !query.is_empty() => {
            let query: String = query.chars().take(MAX_QUERY).collect();
            ToolCall { id: call.id, query: Some(query), problem: String::new() }
        }
        _ => refuse("arguments.query: a non-empty string is required".into()),
    }
}

/// What the voice model reads: the passages, best first, each under its document's title.
pub fn passages_for_voice(body: &[u8]) -> String {
    let Ok(found) = serde_json::from_slice::<SearchResults>(body) else {
        return "The knowledge base could not be searched.".into();
    };
    if found.items.is_empty() {
        return "No passage of the knowledge base matches.".into();
    }
    found
        .items
        .iter()
        .map(|hit| format!("From \"{}\": {}", hit.title, hit.text))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_come_as_an_object_or_a_string_and_other_tools_are_refused() {
        let body = serde_json::json!({"message": {"type": "tool-calls", "toolCallList": [
            {"id": "a", "type": "function", "function": {"name": "search_knowledge", "arguments": {"query": "returns"}}},
            {"id": "b", "type": "function", "function": {"name": "search_knowledge", "arguments": "{\"query\": \"hours\"}"}},
            {"id": "c", "type": "function", "function": {"name": "book_table", "arguments": {}}},
            {"id": "d", "type": "function", "function": {"name": "search_knowledge", "arguments": {}}}
        ]}});
        let calls = tool_calls(body.to_string().as_bytes()).unwrap();
        assert_eq!(calls[0].query.as_deref(), Some("returns"));
        assert_eq!(calls[1].query.as_deref(), Some("hours"));
        assert!(calls[2].query.is_none() && calls[2].problem.contains("book_table"));
        assert!(calls[3].problem.starts_with("arguments.query"));
    }
}
