//! Rate-limit policies over the [`RateLimiter`] port: a budget per client IP
//! for anonymous requests, per user for authenticated ones, and a strict one
//! per IP and per account for login, register and refresh.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::domain::UserId;
use crate::error::RateLimitError;
use crate::ports::{RateDecision, RateLimiter, RatePolicy};

/// The budgets, all configurable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatePolicies {
    /// Per client IP, for requests without a valid access token.
    pub anonymous: RatePolicy,
    /// Per user, for authenticated requests.
    pub user: RatePolicy,
    /// Per client IP, for each of login, register and refresh.
    pub auth_per_ip: RatePolicy,
    /// Per account (email), for login and register.
    pub auth_per_account: RatePolicy,
}

impl Default for RatePolicies {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        let quarter = Duration::from_secs(15 * 60);
        Self {
            anonymous: RatePolicy::new("anon", 300, minute),
            user: RatePolicy::new("user", 600, minute),
            auth_per_ip: RatePolicy::new("auth-ip", 20, quarter),
            auth_per_account: RatePolicy::new("auth-account", 10, quarter),
        }
    }
}

/// Who a general request is counted against.
#[derive(Debug, Clone, Copy)]
pub enum Requester<'a> {
    /// An anonymous client, by IP.
    Anonymous(&'a str),
    /// An authenticated user.
    User(UserId),
}

/// Which credential operation is attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthAttempt {
    /// `POST /auth/login`.
    Login,
    /// `POST /auth/register`.
    Register,
    /// `POST /auth/refresh`.
    Refresh,
}

impl AuthAttempt {
    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::Refresh => "refresh",
        }
    }
}

/// Applies [`RatePolicies`] through a shared limiter, with the outage rules:
/// when the shared limiter is down, general requests fail open and
/// credential attempts fall back to an in-process limiter (an attacker must
/// not gain unlimited password guesses by knocking Redis over). Both are
/// logged once per outage.
pub struct RateLimits {
    shared: Arc<dyn RateLimiter>,
    local: Arc<dyn RateLimiter>,
    policies: RatePolicies,
    degraded: AtomicBool,
}

impl RateLimits {
    /// Limits over `shared` (Redis in production, or the in-process one),
    /// with `local` used for credential attempts while `shared` is down.
    pub fn new(shared: Arc<dyn RateLimiter>, local: Arc<dyn RateLimiter>, policies: RatePolicies) -> Self {
        Self { shared, local, policies, degraded: AtomicBool::new(false) }
    }

    /// The budgets in force.
    pub fn policies(&self) -> &RatePolicies {
        &self.policies
    }

    /// Whether the shared limiter failed on its last use.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    fn note(&self, result: &Result<RateDecision, RateLimitError>) {
        match result {
            Ok(_) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate limiter reachable again; shared budgets apply");
                }
            }
            Err(e) => {
                metrics::counter!("watchme_rate_limiter_failures_total").increment(1);
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        error = %crate::error::chain(e),
                        "rate limiter unavailable: general requests are not limited and credential \
                         attempts use this replica's own budget until it is back"
                    );
                }
            }
        }
    }

    /// Counts one general request. Never fails: a limiter outage lets the request through.
    pub async fn request(&self, who: Requester<'_>) -> RateDecision {
        let (policy, key) = match who {
            Requester::Anonymous(ip) => (&self.policies.anonymous, format!("ip:{ip}")),
            Requester::User(id) => (&self.policies.user, format!("user:{id}")),
        };
        let result = self.shared.check(policy, &key).await;
        self.note(&result);
        let d = result.unwrap_or_else(|_| RateDecision::unlimited(policy));
        count_refusal(policy, &d);
        d
    }

    /// Counts one credential attempt against the per-IP and (for login and
    /// register) per-account budgets; the answer is the stricter of the two.
    /// Never fails: while the shared limiter is down the in-process one counts.
    pub async fn auth_attempt(&self, what: AuthAttempt, ip: &str, account: Option<&str>) -> RateDecision {
        let ip_key = format!("{}:ip:{ip}", what.as_str());
        let mut decision = self.strict(&self.policies.auth_per_ip, &ip_key).await;
        if let Some(account) = account.filter(|_| what != AuthAttempt::Refresh) {
            let key = format!("{}:account:{}", what.as_str(), account.trim().to_lowercase());
            decision = stricter(decision, self.strict(&self.policies.auth_per_account, &key).await);
        }
        decision
    }

    async fn strict(&self, policy: &RatePolicy, key: &str) -> RateDecision {
        let result = self.shared.check(policy, key).await;
        self.note(&result);
        let d = match result {
            Ok(d) => d,
            Err(_) => match self.local.check(policy, key).await {
                Ok(d) => d,
                // The in-process limiter cannot fail; if one ever does, refuse rather than open the gate.
                Err(_) => RateDecision {
                    allowed: false,
                    limit: policy.limit,
                    remaining: 0,
                    reset_after: policy.window,
                    retry_after: Some(policy.interval()),
                },
            },
        };
        count_refusal(policy, &d);
        d
    }
}

fn count_refusal(policy: &RatePolicy, d: &RateDecision) {
    if !d.allowed {
        metrics::counter!("watchme_rate_limited_total", "budget" => policy.name.clone()).increment(1);
    }
}

/// The stricter of two decisions: refused beats allowed, then fewer remaining.
pub fn stricter(a: RateDecision, b: RateDecision) -> RateDecision {
    match (a.allowed, b.allowed) {
        (true, false) => b,
        (false, true) => a,
        (false, false) => {
            if a.retry_after >= b.retry_after {
                a
            } else {
                b
            }
        }
        (true, true) => {
            if a.remaining <= b.remaining {
                a
            } else {
                b
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::cause_msg;
    use crate::ports::MockRateLimiter;

    fn decision(allowed: bool, remaining: u32) -> RateDecision {
        RateDecision {
            allowed,
            limit: 20,
            remaining,
            reset_after: Duration::from_secs(1),
            retry_after: (!allowed).then_some(Duration::from_secs(45)),
        }
    }

    fn down() -> MockRateLimiter {
        let mut m = MockRateLimiter::new();
        m.expect_check().returning(|_, _| Err(RateLimitError::Unavailable(cause_msg("redis down"))));
        m
    }

    #[tokio::test]
    async fn an_outage_fails_open_for_requests_and_falls_back_for_credentials() {
        let mut local = MockRateLimiter::new();
        local.expect_check().times(2).returning(|_, _| Ok(decision(false, 0)));
        let limits = RateLimits::new(Arc::new(down()), Arc::new(local), RatePolicies::default());
        assert!(limits.request(Requester::Anonymous("10.0.0.1")).await.allowed);
        assert!(limits.is_degraded());
        let d = limits.auth_attempt(AuthAttempt::Login, "10.0.0.1", Some("a@b.co")).await;
        assert!(!d.allowed, "credential attempts are still limited, by the local budget");
    }

    #[tokio::test]
    async fn the_stricter_budget_answers_and_keys_are_per_action_and_account() {
        let mut shared = MockRateLimiter::new();
        shared.expect_check().returning(|p, k| {
            Ok(match (p.name.as_str(), k) {
                ("auth-ip", "login:ip:10.0.0.1") => decision(true, 5),
                ("auth-account", "login:account:ada@example.com") => decision(false, 0),
                ("auth-ip", "refresh:ip:10.0.0.1") => decision(true, 19),
                other => panic!("unexpected key {other:?}"),
            })
        });
        let limits = RateLimits::new(Arc::new(shared), Arc::new(down()), RatePolicies::default());
        assert!(!limits.auth_attempt(AuthAttempt::Login, "10.0.0.1", Some(" Ada@Example.com")).await.allowed);
        let d = limits.auth_attempt(AuthAttempt::Refresh, "10.0.0.1", Some("ignored")).await;
        assert_eq!((d.allowed, d.remaining), (true, 19));
        assert!(!limits.is_degraded());
    }

    #[test]
    fn stricter_prefers_refusals_and_lower_budgets() {
        assert!(!stricter(decision(true, 3), decision(false, 0)).allowed);
        assert_eq!(stricter(decision(true, 3), decision(true, 1)).remaining, 1);
    }
}
