//! Bounds on free text. Every text a caller sends passes one of these, so nothing unbounded or
//! invisible (control characters) reaches storage, logs or another tenant's screen.

use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, SchemaType, Type};

use crate::error::ApiError;

/// A single-line text of `min..=max` characters with no control characters.
pub fn line(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    bounded(field, value, min, max, false)
}

/// Like [`line`], but newlines and tabs are allowed (messages, welcome texts).
pub fn paragraph(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    bounded(field, value, min, max, true)
}

fn bounded(field: &str, value: &str, min: usize, max: usize, multiline: bool) -> Result<(), ApiError> {
    let count = value.chars().count();
    if count < min || value.trim().is_empty() && min > 0 {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if count > max {
        return Err(ApiError::invalid(field, format!("must be at most {max} characters, got {count}")));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(ApiError::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// What [`line`] accepts with `min` 1: no control character, and not only whitespace (Unicode
/// `White_Space`, spelled out: `\s` differs between regex dialects).
pub const LINE_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$";

/// The schema of a list of up to `max_items` [`line`]s of 1 to `max` characters each, for
/// `#[schema(schema_with = …)]`: utoipa's attributes cannot bound an array's items.
pub fn lines_schema(max_items: usize, max: usize, nullable: bool) -> Array {
    let item = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(LINE_PATTERN));
    let array = ArrayBuilder::new().items(item).max_items(Some(max_items));
    if nullable {
        array.schema_type(SchemaType::from_iter([Type::Array, Type::Null])).build()
    } else {
        array.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert!(line("f", "ééé", 1, 3).is_ok());
        assert!(line("f", "éééé", 1, 3).is_err());
    }

    /// Every character below U+3100 (all of `White_Space` and the control characters), alone
    /// and inside a text: the documented pattern and [`line`] agree.
    #[test]
    fn the_line_pattern_accepts_exactly_what_line_accepts() {
        let pattern = regex::Regex::new(LINE_PATTERN).unwrap();
        for c in (0..0x3100).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("a{c}b"), format!("{c} ")] {
                assert_eq!(pattern.is_match(&text), line("f", &text, 1, 9).is_ok(), "{c:?} in {text:?}");
            }
        }
    }

    #[test]
    fn refuses_blank_and_control_characters() {
        assert_eq!(line("name", "  ", 1, 9).unwrap_err().message, "name: must not be empty");
        assert!(line("f", "a\u{0}b", 0, 9).is_err());
        assert!(line("f", "a\nb", 0, 9).is_err());
        assert!(paragraph("f", "a\nb", 0, 9).is_ok());
    }
}
