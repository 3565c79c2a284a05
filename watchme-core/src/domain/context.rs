//! Who is calling and under which trace: passed to every service command.

use super::{Role, TraceContext, UserId};

/// The caller of a use case, as the edge (HTTP, a consumer, an embedding
/// service) established it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The authenticated user, if any.
    pub user_id: Option<UserId>,
    /// Their role (user when anonymous).
    pub role: Role,
    /// Trace context to stamp on the events the call produces.
    pub trace: Option<TraceContext>,
}

impl RequestContext {
    /// An anonymous caller.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// An authenticated user with the `user` role.
    pub fn user(user_id: UserId) -> Self {
        Self { user_id: Some(user_id), role: Role::User, trace: None }
    }

    /// The same caller under a trace.
    pub fn with_trace(mut self, trace: Option<TraceContext>) -> Self {
        self.trace = trace;
        self
    }
}
