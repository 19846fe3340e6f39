//! How many event streams may be open at once, per node: each holds a connection and a slot in
//! the hub, so one end-user, one org's visitors or one org's operators must not take them all.

use crate::error::{ApiError, ErrorCode};
use crate::ids::ContactSessionId;

#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    /// Widget streams of one contact session (an end-user's tabs).
    pub per_session: usize,
    /// Widget streams of one org, every session together.
    pub widget_per_org: usize,
    /// Operator streams of one org (the org the operator's token is for).
    pub operators_per_org: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self { per_session: 4, widget_per_org: 2_000, operators_per_org: 200 }
    }
}

impl StreamLimits {
    /// Whether one more stream for `viewer` (`None`: an operator) fits beside the org's open
    /// ones, given as their viewers.
    pub(super) fn admit<'a>(
        &self,
        open: impl Iterator<Item = Option<&'a ContactSessionId>>,
        viewer: Option<&ContactSessionId>,
    ) -> Result<(), ApiError> {
        let (mut same_session, mut widgets, mut operators) = (0, 0, 0);
        for other in open {
            match other {
                Some(session) => {
                    widgets += 1;
                    same_session += usize::from(Some(session) == viewer);
                }
                None => operators += 1,
            }
        }
        let full = |what: &str, limit: usize| {
            let message = format!("too many open event streams {what} (at most {limit}); close one first");
            Err(ApiError::new(ErrorCode::RateLimited, message))
        };
        match viewer {
            Some(_) if same_session >= self.per_session => full("for this contact session", self.per_session),
            Some(_) if widgets >= self.widget_per_org => {
                full("for this organization's widget", self.widget_per_org)
            }
            None if operators >= self.operators_per_org => {
                full("for this organization's operators", self.operators_per_org)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cap_counts_only_its_own_streams() {
        let limits = StreamLimits { per_session: 2, widget_per_org: 3, operators_per_org: 1 };
        let (ada, eve) =
            (ContactSessionId::parse("cs_ada").unwrap(), ContactSessionId::parse("cs_eve").unwrap());
        let open = [Some(&ada), Some(&ada), None];

        assert!(limits.admit(open.into_iter(), Some(&ada)).unwrap_err().message.contains("contact session"));
        assert!(limits.admit(open.into_iter(), Some(&eve)).is_ok());
        assert!(limits.admit(open.into_iter(), None).unwrap_err().message.contains("operators"));
        let full = [Some(&ada), Some(&ada), Some(&eve)];
        assert!(limits.admit(full.into_iter(), Some(&eve)).unwrap_err().message.contains("widget"));
        assert!(limits.admit(full.into_iter(), None).is_ok());
    }
}
