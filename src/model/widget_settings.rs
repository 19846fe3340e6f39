//! Widget settings: what an organization's embedded widget looks like and says.

use serde::{Deserialize, Serialize};

use super::text;
use crate::error::ApiError;
use crate::ids::OrgId;

pub const MAX_SUGGESTIONS: usize = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WidgetSettings {
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub welcome_message: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]+$")]
    pub assistant_id: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub voice: String,
    pub theme: Theme,
    /// Each 1 to 100 characters on one line.
    #[serde(default)]
    #[schema(schema_with = suggestions_schema)]
    pub suggestions: Vec<String>,
    /// E.164.
    #[serde(default)]
    #[schema(pattern = r"^\+[1-9][0-9]{6,14}$")]
    pub phone_number: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Theme {
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub primary_color: String,
    pub position: Position,
    pub mode: Mode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    BottomRight,
    BottomLeft,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Light,
    Dark,
}

impl Default for WidgetSettings {
    /// What a new organization's widget shows before anyone configures it.
    fn default() -> Self {
        Self {
            welcome_message: "Hi! How can we help?".into(),
            assistant_id: None,
            voice: "alloy".into(),
            theme: Theme {
                primary_color: "#4f46e5".into(),
                position: Position::BottomRight,
                mode: Mode::Light,
            },
            suggestions: Vec::new(),
            phone_number: None,
        }
    }
}

impl WidgetSettings {
    /// Checks every field, reporting the first problem with its JSON path.
    pub fn validate(&self) -> Result<(), ApiError> {
        text::paragraph("welcomeMessage", &self.welcome_message, 1, 500)?;
        if let Some(id) = &self.assistant_id {
            text::line("assistantId", id, 1, 64)?;
            if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(ApiError::invalid(
                    "assistantId",
                    "may contain only letters, digits, '-' and '_'",
                ));
            }
        }
        text::line("voice", &self.voice, 1, 64)?;
        check_colour(&self.theme.primary_color)?;
        if self.suggestions.len() > MAX_SUGGESTIONS {
            return Err(ApiError::invalid(
                "suggestions",
                format!("at most {MAX_SUGGESTIONS} suggestions, got {}", self.suggestions.len()),
            ));
        }
        for (i, suggestion) in self.suggestions.iter().enumerate() {
            text::line(&format!("suggestions[{i}]"), suggestion, 1, 100)?;
        }
        if let Some(number) = &self.phone_number {
            check_phone(number)?;
        }
        Ok(())
    }
}

/// `suggestions`: up to three, each a line of 1 to 100 characters.
fn suggestions_schema() -> utoipa::openapi::Array {
    text::lines_schema(MAX_SUGGESTIONS, 100, false)
}

/// `#rgb` or `#rrggbb`, the forms a CSS colour input produces.
fn check_colour(colour: &str) -> Result<(), ApiError> {
    let hex = colour.strip_prefix('#').unwrap_or("");
    if (hex.len() == 3 || hex.len() == 6) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ApiError::invalid("theme.primaryColor", "must be a hex colour like #4f46e5"))
    }
}

/// E.164, the only form a `tel:` link and Vapi both take without guessing.
fn check_phone(number: &str) -> Result<(), ApiError> {
    let digits = number.strip_prefix('+').unwrap_or("");
    let ok = (7..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid("phoneNumber", "must be in E.164 form, like +14155550123"))
    }
}

/// The anonymous widget's view. Voice fields appear only when voice can actually work, so a
/// half-configured organization never shows a call button that fails.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicSettings {
    pub organization_id: OrgId,
    pub welcome_message: String,
    pub voice: String,
    pub theme: Theme,
    pub suggestions: Vec<String>,
    pub phone_number: Option<String>,
    pub voice_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vapi_public_key: Option<String>,
}

impl PublicSettings {
    pub fn new(org: OrgId, settings: &WidgetSettings) -> Self {
        Self {
            organization_id: org,
            welcome_message: settings.welcome_message.clone(),
            voice: settings.voice.clone(),
            theme: settings.theme.clone(),
            suggestions: settings.suggestions.clone(),
            phone_number: settings.phone_number.clone(),
            voice_enabled: false,
            assistant_id: None,
            vapi_public_key: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode;

    fn with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<WidgetSettings, ApiError> {
        let mut v = serde_json::to_value(WidgetSettings::default()).unwrap();
        edit(&mut v);
        let s: WidgetSettings = decode(v.to_string().as_bytes())?;
        s.validate().map(|()| s)
    }

    fn field_of(err: ApiError) -> String {
        err.message.split(':').next().unwrap().to_owned()
    }

    #[test]
    fn defaults_are_valid_and_round_trip() {
        assert_eq!(with(|_| {}).unwrap(), WidgetSettings::default());
    }

    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(&str, Edit)> = vec![
            ("welcomeMessage", Box::new(|v| v["welcomeMessage"] = "".into())),
            ("welcomeMessage", Box::new(|v| v["welcomeMessage"] = "x".repeat(501).into())),
            ("welcomeMessage", Box::new(|v| v["welcomeMessage"] = 5.into())),
            ("theme.primaryColor", Box::new(|v| v["theme"]["primaryColor"] = "red".into())),
            ("theme.position", Box::new(|v| v["theme"]["position"] = "top".into())),
            ("theme.mode", Box::new(|v| v["theme"]["mode"] = "neon".into())),
            ("suggestions", Box::new(|v| v["suggestions"] = serde_json::json!(["a", "b", "c", "d"]))),
            ("suggestions[1]", Box::new(|v| v["suggestions"] = serde_json::json!(["a", ""]))),
            ("phoneNumber", Box::new(|v| v["phoneNumber"] = "555-1234".into())),
            ("assistantId", Box::new(|v| v["assistantId"] = "a.b".into())),
            ("voice", Box::new(|v| v["voice"] = "".into())),
        ];
        for (field, edit) in cases {
            assert_eq!(field_of(with(edit).unwrap_err()), field);
        }
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let err = with(|v| v["colour"] = "x".into()).unwrap_err();
        assert!(err.message.contains("colour"), "{}", err.message);
        let err = with(|v| {
            v.as_object_mut().unwrap().remove("voice");
        })
        .unwrap_err();
        assert!(err.message.contains("voice"), "{}", err.message);
    }
}
