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

    /// Whether a call may go out now: a permit to report its outcome on,
    /// or `None` while the circuit is open (or its one trial is running).
    pub fn allow(&self) -> Option<Permit<'_>> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let trial = match s.open_until {
            None => false,
            Some(t) if Instant::now() < t => return None,
            Some(_) if s.trial_running => return None,
            Some(_) => {
                s.trial_running = true;
                true
            }
        };
        Some(Permit { breaker: self, trial, reported: false })
    }

    /// Records a call that reached TMDb and got an answer.
    fn success(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s = State::default();
    }

    /// Records a call that failed (after its retries).
    fn failure(&self) {
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

    /// A trial whose call was dropped before it reported (a health probe's
    /// timeout, a cancelled request): the next caller may try instead. Found
    /// by the soak test: before, the abandoned trial kept the circuit open
    /// for good, and the replica never asked TMDb again.
    fn abandoned(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.trial_running = false;
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

/// One call's permission; report its outcome with [`Permit::success`] or
/// [`Permit::failure`]. Dropped without either, it gives its trial back.
#[must_use = "report the call's outcome on the permit"]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    trial: bool,
    reported: bool,
}

impl Permit<'_> {
    /// The call reached TMDb and got an answer: the circuit closes.
    pub fn success(mut self) {
        self.reported = true;
        self.breaker.success();
    }

    /// The call failed (after its retries).
    pub fn failure(mut self) {
        self.reported = true;
        self.breaker.failure();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.trial && !self.reported {
            self.breaker.abandoned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(b: &Breaker) {
        b.allow().expect("the circuit lets the call out").failure();
    }

    #[test]
    fn opens_after_threshold_then_half_opens_and_closes_on_success() {
        let b = Breaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            b.allow().unwrap().failure();
        }
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.allow().is_none());
        std::thread::sleep(Duration::from_millis(40));
        let trial = b.allow().expect("one trial after the cooldown");
        assert!(b.allow().is_none(), "only one");
        trial.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow().is_some());
    }

    #[test]
    fn a_failed_trial_opens_again() {
        let b = Breaker::new(1, Duration::from_millis(20));
        fail(&b);
        std::thread::sleep(Duration::from_millis(30));
        b.allow().unwrap().failure();
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn a_trial_dropped_before_it_reports_lets_the_next_caller_try() {
        let b = Breaker::new(1, Duration::from_millis(20));
        fail(&b);
        std::thread::sleep(Duration::from_millis(30));
        drop(b.allow().expect("the trial"));
        let next = b.allow().expect("the abandoned trial is given back");
        next.success();
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
