//! The `agent_settings` table (at most one record per org, keyed by the org id) and the
//! `ai_usage` table (one record per org and month: the tokens its provider calls consumed).

use serde::{Deserialize, Serialize};
use surrealdb::types::RecordId;

use super::{Db, DbError, first_row, shape};
use crate::ids::OrgId;
use crate::model::agent::AgentSettings;

const SETTINGS: &str = "agent_settings";
const USAGE: &str = "ai_usage";
const KEYS: &str = "ai_keys";

/// An org's own key for the AI provider, sealed with the master key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredAiKey {
    pub key_sealed: String,
    /// The key's last four characters, to tell keys apart.
    pub hint: String,
    pub connected_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, Deserialize)]
struct SettingsRow {
    org: String,
    enabled: bool,
    instructions: String,
    handoff_message: String,
}

#[derive(Deserialize)]
struct UsageRow {
    input_tokens: u64,
    output_tokens: u64,
}

#[derive(Clone, Debug)]
pub struct Agents {
    db: Db,
}

impl Agents {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn get(&self, org: &OrgId) -> Result<Option<AgentSettings>, DbError> {
        let rows: Vec<serde_json::Value> = self
            .db
            .client()
            .query("SELECT * OMIT id, updated_at FROM $rid")
            .bind(("rid", RecordId::new(SETTINGS, org.as_str())))
            .await?
            .take(0)?;
        Ok(first_row::<SettingsRow>(SETTINGS, rows)?.map(|row| AgentSettings {
            enabled: row.enabled,
            instructions: row.instructions,
            handoff_message: row.handoff_message,
        }))
    }

    pub async fn put(&self, org: &OrgId, settings: &AgentSettings) -> Result<(), DbError> {
        let row = SettingsRow {
            org: org.as_str().to_owned(),
            enabled: settings.enabled,
            instructions: settings.instructions.clone(),
            handoff_message: settings.handoff_message.clone(),
        };
        let content = serde_json::to_value(row).map_err(shape(SETTINGS))?;
        let query = self
            .db
            .write("UPSERT $rid CONTENT $content RETURN NONE")
            .bind(("rid", RecordId::new(SETTINGS, org.as_str())))
            .bind(("content", content));
        self.db.commit(query).await?;
        Ok(())
    }

    /// Tokens in and out the org used in `month` (`YYYY-MM`).
    pub async fn usage(&self, org: &OrgId, month: &str) -> Result<(u64, u64), DbError> {
        let rows: Vec<serde_json::Value> = self
            .db
            .client()
            .query("SELECT input_tokens, output_tokens FROM $rid")
            .bind(("rid", usage_record(org, month)))
            .await?
            .take(0)?;
        Ok(first_row::<UsageRow>(USAGE, rows)?.map_or((0, 0), |row| (row.input_tokens, row.output_tokens)))
    }

    /// Adds tokens to the org's count for `month`.
    pub async fn add_usage(&self, org: &OrgId, month: &str, input: u64, output: u64) -> Result<(), DbError> {
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let query = self
            .db
            .write(
                "UPSERT $rid SET org = $org, month = $month, \
                 input_tokens = (input_tokens ?? 0) + $input, output_tokens = (output_tokens ?? 0) + $output \
                 RETURN NONE",
            )
            .bind(("rid", usage_record(org, month)))
            .bind(("org", org.as_str().to_owned()))
            .bind(("month", month.to_owned()))
            .bind(("input", clamp(input)))
            .bind(("output", clamp(output)));
        self.db.commit(query).await?;
        Ok(())
    }
}

impl Agents {
    pub async fn ai_key(&self, org: &OrgId) -> Result<Option<StoredAiKey>, DbError> {
        let rows: Vec<serde_json::Value> = self
            .db
            .client()
            .query("SELECT key_sealed, hint, connected_at FROM $rid")
            .bind(("rid", RecordId::new(KEYS, org.as_str())))
            .await?
            .take(0)?;
        first_row(KEYS, rows)
    }

    pub async fn put_ai_key(&self, org: &OrgId, key: &StoredAiKey) -> Result<(), DbError> {
        let query = self
            .db
            .write("UPSERT $rid SET org = $org, key_sealed = $sealed, hint = $hint, connected_at = $at RETURN NONE")
            .bind(("rid", RecordId::new(KEYS, org.as_str())))
            .bind(("org", org.as_str().to_owned()))
            .bind(("sealed", key.key_sealed.clone()))
            .bind(("hint", key.hint.clone()))
            .bind(("at", key.connected_at));
        self.db.commit(query).await?;
        Ok(())
    }

    pub async fn delete_ai_key(&self, org: &OrgId) -> Result<(), DbError> {
        let query = self.db.write("DELETE $rid RETURN NONE").bind(("rid", RecordId::new(KEYS, org.as_str())));
        self.db.commit(query).await?;
        Ok(())
    }
}

fn usage_record(org: &OrgId, month: &str) -> RecordId {
    RecordId::new(USAGE, format!("{org}-{month}"))
}
