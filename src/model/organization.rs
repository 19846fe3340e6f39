//! An organization (tenant) as assist knows it: first seen in an operator's token, kept up to
//! date by Clerk webhooks.

use serde::{Deserialize, Serialize};

use crate::ids::OrgId;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrgId,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}
