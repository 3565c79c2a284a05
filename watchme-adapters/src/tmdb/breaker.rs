//! A small circuit breaker: after `threshold` consecutive failed calls it
//! opens for `cooldown` (calls fail at once, sparing TMDb and our latency),
//! then lets one trial call through; its success closes the circuit, its
//! failure opens it again. Twenty lines of state beat a dependency here: the
//! crates that offer this bring their own futures plumbing and metrics.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    trial_running: bool,
}

/// The circuit's state, for health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast.
    Open,
    /// One trial call is allowed.
    HalfOpen,
}

/// Counts consecutive failures and opens after `threshold` of them.
#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown: Duration,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self { state: Mutex::new(State::default()), threshold: threshold.max(1), cooldown }
    }

    /// Whether a call may go out now.
    pub fn allow(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.open_until {
            None => true,
            Some(t) if Instant::now() < t => false,
            Some(_) if s.trial_running => false,
            Some(_) => {
                s.trial_running = true;
                true
            }
        }
    }

    /// Records a call that reached TMDb and got an answer.
    pub fn success(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s = State::default();
    }

    /// Records a call that failed (after its retries).
    pub fn failure(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.consecutive_failures += 1;
        if s.trial_running || s.consecutive_failures >= self.threshold {
            if s.open_until.is_none() || s.trial_running {
                tracing::warn!(
                    failures = s.consecutive_failures,
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "TMDb circuit opened"
                );
            }
            s.open_until = Some(Instant::now() + self.cooldown);
            s.trial_running = false;
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.open_until {
            None => BreakerState::Closed,
            Some(t) if Instant::now() < t => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_half_opens_and_closes_on_success() {
        let b = Breaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(b.allow());
            b.failure();
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "one trial after the cooldown");
        assert!(!b.allow(), "only one");
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow());
    }

    #[test]
    fn a_failed_trial_opens_again() {
        let b = Breaker::new(1, Duration::from_millis(20));
        b.failure();
        std::thread::sleep(Duration::from_millis(30));
        assert!(b.allow());
        b.failure();
        assert_eq!(b.state(), BreakerState::Open);
    }
}
