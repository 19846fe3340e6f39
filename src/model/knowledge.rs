//! The knowledge base as callers see it: documents, what adds one, and a search with its hits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::text;
use crate::error::{ApiError, ErrorCode};
use crate::ids::DocumentId;

/// The largest file a document may be made from.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The largest `text` of the JSON form: it travels in one NATS message.
pub const MAX_TEXT_BYTES: usize = 512 * 1024;
pub const MAX_TITLE: usize = 200;
pub const MAX_QUERY: usize = 1000;
pub const DEFAULT_HITS: u32 = 5;
pub const MAX_HITS: u32 = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DocumentStatus {
    Processing,
    Ready,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub id: DocumentId,
    pub title: String,
    /// One of [`ContentType`]'s media types.
    pub content_type: String,
    /// The size of what was added (the file, or the text's UTF-8).
    pub bytes: u64,
    pub status: DocumentStatus,
    /// Why the document failed; absent otherwise.
    pub error: Option<String>,
    /// Searchable passages, once ready.
    pub chunks: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The kinds of document assist can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    Text,
    Markdown,
    Html,
    Pdf,
}

impl ContentType {
    pub const ALL: [ContentType; 4] = [Self::Text, Self::Markdown, Self::Html, Self::Pdf];

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain",
            Self::Markdown => "text/markdown",
            Self::Html => "text/html",
            Self::Pdf => "application/pdf",
        }
    }

    /// From a declared media type (parameters such as `charset` ignored) or, when that is
    /// absent or generic, from the file name's extension: 415 naming the type otherwise.
    pub fn detect(declared: Option<&str>, file_name: Option<&str>) -> Result<Self, ApiError> {
        let declared = declared.map(|d| d.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
        let by_type = |media: &str| match media {
            "text/plain" => Some(Self::Text),
            "text/markdown" | "text/x-markdown" => Some(Self::Markdown),
            "text/html" | "application/xhtml+xml" => Some(Self::Html),
            "application/pdf" => Some(Self::Pdf),
            _ => None,
        };
        let extension = file_name.and_then(|n| n.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
        let by_extension = || match extension.as_deref() {
            Some("txt" | "text") => Some(Self::Text),
            Some("md" | "markdown") => Some(Self::Markdown),
            Some("html" | "htm") => Some(Self::Html),
            Some("pdf") => Some(Self::Pdf),
            _ => None,
        };
        let generic = |media: &str| media.is_empty() || media == "application/octet-stream";
        match declared.as_deref() {
            Some(media) if !generic(media) => by_type(media).or_else(|| {
                // Browsers label Markdown files as they please; trust a known extension then.
                (media.starts_with("text/")).then(by_extension).flatten()
            }),
            _ => by_extension(),
        }
        .ok_or_else(|| {
            let named = declared.filter(|d| !generic(d)).or(extension.map(|e| format!(".{e} files")));
            let named = named.unwrap_or_else(|| "a file with no type".into());
            ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("file: {named} cannot be read; send text, Markdown, HTML or PDF"),
            )
        })
    }

    pub fn from_media_type(media: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.media_type() == media)
    }
}

/// `POST …/knowledge` as JSON: a text with its title.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewDocument {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    /// Plain text or Markdown, up to 512 KiB; larger documents are uploaded as a file.
    #[schema(min_length = 1)]
    pub text: String,
}

impl NewDocument {
    pub fn validate(&self) -> Result<(), ApiError> {
        validate_title(&self.title)?;
        if self.text.trim().is_empty() {
            return Err(ApiError::invalid("text", "must not be empty"));
        }
        if self.text.len() > MAX_TEXT_BYTES {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("text: must be at most {MAX_TEXT_BYTES} bytes; upload larger documents as a file"),
            ));
        }
        Ok(())
    }
}

pub fn validate_title(title: &str) -> Result<(), ApiError> {
    text::line("title", title, 1, MAX_TITLE)
}

/// `?cursor=&limit=` of the document list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// A `nextCursor` this API returned.
    #[param(min_length = 1, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// `POST …/knowledge/search`.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchRequest {
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub query: String,
    /// How many passages, 1 to 20 (5 when absent).
    #[schema(minimum = 1, maximum = 20)]
    pub limit: Option<u32>,
}

impl SearchRequest {
    pub fn validate(&self) -> Result<u32, ApiError> {
        text::paragraph("query", &self.query, 1, MAX_QUERY)?;
        match self.limit {
            None => Ok(DEFAULT_HITS),
            Some(n @ 1..=MAX_HITS) => Ok(n),
            Some(_) => Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_HITS}"))),
        }
    }
}

/// One passage of the org's knowledge, with how well it matches the query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub document_id: DocumentId,
    pub title: String,
    pub text: String,
    /// Cosine similarity of the query's and the passage's embeddings, -1 to 1.
    pub score: f32,
}

/// `{"items": [...]}`, best first.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_come_from_the_declared_type_or_the_extension() {
        assert_eq!(ContentType::detect(Some("application/pdf"), None).unwrap(), ContentType::Pdf);
        assert_eq!(ContentType::detect(Some("text/html; charset=utf-8"), None).unwrap(), ContentType::Html);
        assert_eq!(ContentType::detect(None, Some("faq.MD")).unwrap(), ContentType::Markdown);
        assert_eq!(
            ContentType::detect(Some("application/octet-stream"), Some("a.txt")).unwrap(),
            ContentType::Text
        );
        let refused = ContentType::detect(Some("image/png"), Some("x.png")).unwrap_err();
        assert_eq!(refused.code, ErrorCode::UnsupportedMediaType);
        assert!(refused.message.contains("image/png"), "{}", refused.message);
        let refused = ContentType::detect(None, Some("book.epub")).unwrap_err();
        assert!(refused.message.contains(".epub"), "{}", refused.message);
    }

    #[test]
    fn searches_are_bounded() {
        let search = |query: &str, limit| SearchRequest { query: query.into(), limit };
        assert_eq!(search("returns", None).validate().unwrap(), DEFAULT_HITS);
        assert!(search("", None).validate().unwrap_err().message.starts_with("query:"));
        assert!(search("x", Some(21)).validate().unwrap_err().message.starts_with("limit:"));
    }
}
