//! The `widget_settings` table: at most one record per organization, keyed by the org id.

use serde::{Deserialize, Serialize};
use surrealdb::types::RecordId;

use super::{Db, DbError, first_row};
use crate::ids::OrgId;
use crate::model::widget_settings::{Mode, Position, Theme, WidgetSettings};

const TABLE: &str = "widget_settings";

/// The stored shape, snake_case like every table, kept apart from the API shape so either can
/// change without silently changing the other. Absent optional fields are left out: SurrealDB's
/// `option<T>` means NONE or T, and a JSON null would be NULL.
#[derive(Serialize, Deserialize)]
struct Row {
    org: String,
    welcome_message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    assistant_id: Option<String>,
    voice: String,
    theme: ThemeRow,
    suggestions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ThemeRow {
    primary_color: String,
    position: Position,
    mode: Mode,
}

#[derive(Clone, Debug)]
pub struct WidgetSettingsRepo {
    db: Db,
}

impl WidgetSettingsRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn get(&self, org: &OrgId) -> Result<Option<WidgetSettings>, DbError> {
        let rows = self.db.client().query(GET).bind(("widget_settings", record(org))).await?.take(0)?;
        decode(rows)
    }

    /// Replaces the organization's settings in one statement; returns once committed.
    pub async fn put(&self, org: &OrgId, settings: &WidgetSettings) -> Result<(), DbError> {
        let row = Row {
            org: org.as_str().to_owned(),
            welcome_message: settings.welcome_message.clone(),
            assistant_id: settings.assistant_id.clone(),
            voice: settings.voice.clone(),
            theme: ThemeRow {
                primary_color: settings.theme.primary_color.clone(),
                position: settings.theme.position,
                mode: settings.theme.mode,
            },
            suggestions: settings.suggestions.clone(),
            phone_number: settings.phone_number.clone(),
        };
        let content = serde_json::to_value(row).map_err(|source| DbError::Shape { table: TABLE, source })?;
        let query = self
            .db
            .write("UPSERT $rid CONTENT $content RETURN NONE")
            .bind(("rid", record(org)))
            .bind(("content", content));
        self.db.commit(query).await?;
        Ok(())
    }
}

/// The settings at `$widget_settings`.
const GET: &str = "SELECT * OMIT id, updated_at FROM $widget_settings";

pub(super) fn decode(rows: Vec<serde_json::Value>) -> Result<Option<WidgetSettings>, DbError> {
    Ok(first_row::<Row>(TABLE, rows)?.map(|row| WidgetSettings {
        welcome_message: row.welcome_message,
        assistant_id: row.assistant_id,
        voice: row.voice,
        theme: Theme {
            primary_color: row.theme.primary_color,
            position: row.theme.position,
            mode: row.theme.mode,
        },
        suggestions: row.suggestions,
        phone_number: row.phone_number,
    }))
}

pub(super) fn record(org: &OrgId) -> RecordId {
    RecordId::new(TABLE, org.as_str())
}
