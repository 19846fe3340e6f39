//! The operator of `assist serve --demo`: one random bearer token, drawn when the node starts,
//! that stands for an admin of the demo organization. It exists only on a node started with
//! `--demo`, and only the console's loopback-only route hands it out, so a newcomer can try the
//! console without a Clerk account while no other deployment gains a way in without Clerk.

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;

use super::{Operator, bearer};
use crate::error::ApiError;
use crate::ids::OrgId;

/// The demo operator's user id.
pub const DEMO_USER: &str = "user_demo";

#[derive(Clone)]
pub struct DemoOperator {
    token: String,
    org: OrgId,
}

impl DemoOperator {
    /// A fresh token for an admin of `org`. It holds no dot, so it can never parse as a JWT.
    pub fn generate(org: OrgId) -> Self {
        let bytes: [u8; 32] = rand::random();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self { token: format!("demo_{hex}"), org }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn org(&self) -> &OrgId {
        &self.org
    }

    /// `None` when the caller does not present the demo token (a Clerk token is then checked);
    /// otherwise the demo admin, who may act on the demo organization and on no other.
    pub(super) fn operator(
        &self,
        authorization: Option<&str>,
        org: &OrgId,
    ) -> Option<Result<Operator, ApiError>> {
        let presented = bearer(authorization).ok()?;
        verify_slices_are_equal(presented.as_bytes(), self.token.as_bytes()).ok()?;
        if org != &self.org {
            return Some(Err(ApiError::forbidden(format!("the demo operator may act only on {}", self.org))));
        }
        Some(Ok(Operator { user_id: DEMO_USER.into(), org_id: org.clone(), role: "org:admin".into() }))
    }
}

/// Never prints the token.
impl fmt::Debug for DemoOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoOperator").field("org", &self.org).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    #[test]
    fn the_demo_token_is_an_admin_of_the_demo_org_only() {
        let demo = DemoOperator::generate(org("org_demo"));
        let header = format!("Bearer {}", demo.token());
        let operator = demo.operator(Some(&header), &org("org_demo")).unwrap().unwrap();
        assert!(operator.is_admin());
        assert_eq!(operator.user_id, DEMO_USER);
        let elsewhere = demo.operator(Some(&header), &org("org_other")).unwrap().unwrap_err();
        assert_eq!(elsewhere.code, ErrorCode::Forbidden);
    }

    #[test]
    fn another_token_is_left_to_clerk() {
        let demo = DemoOperator::generate(org("org_demo"));
        let other = DemoOperator::generate(org("org_demo"));
        assert_ne!(demo.token(), other.token());
        let header = format!("Bearer {}", other.token());
        assert!(demo.operator(Some(&header), &org("org_demo")).is_none());
        assert!(demo.operator(None, &org("org_demo")).is_none());
        assert!(!demo.token().contains('.'));
        assert!(!format!("{demo:?}").contains(demo.token()));
    }
}
