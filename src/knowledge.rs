//! Reading documents: the text of a file (plain text, Markdown, HTML, PDF) and its passages.
//! Extraction and splitting are pure functions of their input; well-kept crates do the work
//! (`pdf-extract`, `html2text`, `text-splitter`).

use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};

use crate::model::knowledge::ContentType;

/// How documents are cut into passages: by characters, each passage sharing `overlap`
/// characters with the one before, so an answer that straddles a cut is still found whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunking {
    pub size: usize,
    pub overlap: usize,
}

impl Default for Chunking {
    fn default() -> Self {
        Self { size: 1000, overlap: 150 }
    }
}

impl Chunking {
    /// The settings' names, for a refusal at start-up.
    pub fn check(&self) -> Result<(), String> {
        if self.size < 100 {
            return Err("ASSIST_CHUNK_SIZE must be at least 100 characters".into());
        }
        if self.overlap >= self.size {
            return Err("ASSIST_CHUNK_OVERLAP must be smaller than ASSIST_CHUNK_SIZE".into());
        }
        Ok(())
    }
}

/// Why a document has no text; the message is shown to the org's operators as the document's
/// `error`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("the file is not UTF-8 text")]
    NotUtf8,
    #[error("the PDF could not be read: {0}")]
    Pdf(String),
    #[error("the HTML could not be read: {0}")]
    Html(String),
    #[error("the document has no text (a scanned PDF has only images)")]
    NoText,
}

/// The document's text. CPU-bound on large PDFs: run it off the async workers.
pub fn extract(content_type: ContentType, bytes: &[u8]) -> Result<String, Unreadable> {
    let text = match content_type {
        ContentType::Text | ContentType::Markdown => {
            let text = std::str::from_utf8(bytes).map_err(|_| Unreadable::NotUtf8)?;
            text.strip_prefix('\u{feff}').unwrap_or(text).to_owned()
        }
        ContentType::Html => html2text::config::plain()
            .link_footnotes(false)
            .no_table_borders()
            .string_from_read(bytes, usize::MAX / 2)
            .map_err(|e| Unreadable::Html(e.to_string()))?,
        // pdf-extract panics on some malformed files rather than failing: a panic is a
        // refusal of this document, never of the worker.
        ContentType::Pdf => std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
            .map_err(|_| Unreadable::Pdf("the file is damaged".into()))?
            .map_err(|e| Unreadable::Pdf(e.to_string()))?,
    };
    if text.trim().is_empty() {
        return Err(Unreadable::NoText);
    }
    Ok(text)
}

/// The document's passages, in order; Markdown is cut at its headings and paragraphs first.
pub fn split(content_type: ContentType, text: &str, chunking: Chunking) -> Vec<String> {
    let config = ChunkConfig::new(chunking.size)
        .with_overlap(chunking.overlap)
        .unwrap_or_else(|_| ChunkConfig::new(chunking.size));
    let passages: Vec<&str> = match content_type {
        ContentType::Markdown => MarkdownSplitter::new(config).chunks(text).collect(),
        _ => TextSplitter::new(config).chunks(text).collect(),
    };
    passages.into_iter().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_its_text() {
        let html =
            b"<html><body><h1>Returns</h1><p>Within <b>30 days</b>.</p><script>x()</script></body></html>";
        let text = extract(ContentType::Html, html).unwrap();
        assert!(text.contains("Returns") && text.contains("30 days"), "{text}");
        assert!(!text.contains("<b>"), "{text}");
    }

    #[test]
    fn unreadable_documents_say_why() {
        assert_eq!(extract(ContentType::Text, b"\xff\xfe\xfa"), Err(Unreadable::NotUtf8));
        assert_eq!(extract(ContentType::Markdown, b"  \n "), Err(Unreadable::NoText));
        assert!(matches!(extract(ContentType::Pdf, b"not a pdf"), Err(Unreadable::Pdf(_))));
    }

    #[test]
    fn passages_overlap_and_cover_the_text() {
        let text = (0..300).map(|i| format!("Sentence number {i} is here.")).collect::<Vec<_>>().join(" ");
        let chunking = Chunking { size: 200, overlap: 50 };
        let passages = split(ContentType::Text, &text, chunking);
        assert!(passages.len() > 10);
        assert!(passages.iter().all(|p| p.chars().count() <= 200));
        assert!(passages.last().unwrap().contains("299"));
        assert!(chunking.check().is_ok());
        assert!(Chunking { size: 200, overlap: 200 }.check().is_err());
    }
}
