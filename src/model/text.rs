//! Bounds on free text. Every text a caller sends passes one of these, so nothing unbounded or
//! invisible (control characters) reaches storage, logs or another tenant's screen.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert!(line("f", "ééé", 1, 3).is_ok());
        assert!(line("f", "éééé", 1, 3).is_err());
    }

    #[test]
    fn refuses_blank_and_control_characters() {
        assert_eq!(line("name", "  ", 1, 9).unwrap_err().message, "name: must not be empty");
        assert!(line("f", "a\u{0}b", 0, 9).is_err());
        assert!(line("f", "a\nb", 0, 9).is_err());
        assert!(paragraph("f", "a\nb", 0, 9).is_ok());
    }
}
