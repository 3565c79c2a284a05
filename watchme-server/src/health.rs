//! Dependency probes behind `/health/ready`.
//!
//! Each configured dependency contributes one probe. Probes run
//! concurrently, each under a short timeout; a critical dependency that is
//! down makes the instance not ready (503), an optional one (cache, movie
//! source with stale copies) only degrades it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

type ProbeFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One dependency check.
pub struct Probe {
    name: &'static str,
    critical: bool,
    check: Box<dyn Fn() -> ProbeFuture + Send + Sync>,
}

impl Probe {
    /// A probe named `name`; `critical` dependencies being down make the instance unready.
    pub fn new<F, Fut>(name: &'static str, critical: bool, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self { name, critical, check: Box::new(move || Box::pin(check())) }
    }
}

/// Result of one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// Dependency name.
    pub name: &'static str,
    /// `up`, `degraded` (optional dependency failing) or `down`.
    pub status: &'static str,
    /// How long the check took.
    pub latency: Duration,
    /// The failure, when not up.
    pub error: Option<String>,
}

type Report = (bool, Vec<ProbeResult>);

/// All probes of this instance.
#[derive(Clone, Default)]
pub struct HealthChecks {
    probes: Arc<Vec<Probe>>,
    timeout: Duration,
    // The last report and when it was made: a probe storm (many load
    // balancers, a tight interval) reaches the dependencies once a second.
    last: Arc<tokio::sync::Mutex<Option<(Instant, Report)>>>,
}

impl HealthChecks {
    /// How long a report is reused.
    pub const CACHE_FOR: Duration = Duration::from_secs(1);

    /// Probes run with `timeout` each.
    pub fn new(probes: Vec<Probe>, timeout: Duration) -> Self {
        Self { probes: Arc::new(probes), timeout, last: Arc::default() }
    }

    /// Every probe's result, at most [`Self::CACHE_FOR`] old: callers
    /// arriving while a check runs wait for it instead of starting another.
    pub async fn check(&self) -> Report {
        let mut last = self.last.lock().await;
        if let Some((_, report)) = last.as_ref().filter(|(at, _)| at.elapsed() < Self::CACHE_FOR) {
            return report.clone();
        }
        let report = self.run().await;
        *last = Some((Instant::now(), report.clone()));
        report
    }

    /// Runs every probe concurrently; returns whether the instance is ready and each result.
    async fn run(&self) -> Report {
        // Spawned together, awaited in order: concurrent, and reported in probe order.
        let running: Vec<_> = self
            .probes
            .iter()
            .map(|p| {
                let fut = (p.check)();
                let (timeout, name, critical) = (self.timeout, p.name, p.critical);
                tokio::spawn(async move {
                    let started = Instant::now();
                    let outcome = match tokio::time::timeout(timeout, fut).await {
                        Ok(r) => r,
                        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
                    };
                    let status = match (&outcome, critical) {
                        (Ok(()), _) => "up",
                        (Err(_), false) => "degraded",
                        (Err(_), true) => "down",
                    };
                    ProbeResult { name, status, latency: started.elapsed(), error: outcome.err() }
                })
            })
            .collect();
        let mut results = Vec::with_capacity(running.len());
        for handle in running {
            if let Ok(r) = handle.await {
                results.push(r);
            }
        }
        let ready = results.len() == self.probes.len() && results.iter().all(|r| r.status != "down");
        (ready, results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn critical_failures_make_the_instance_unready_optional_ones_degrade_it() {
        let checks = HealthChecks::new(
            vec![
                Probe::new("db", true, || async { Ok(()) }),
                Probe::new("cache", false, || async { Err("refused".into()) }),
            ],
            Duration::from_millis(200),
        );
        let (ready, r) = checks.check().await;
        assert!(ready);
        assert_eq!(r.iter().map(|p| (p.name, p.status)).collect::<Vec<_>>(), vec![("db", "up"), ("cache", "degraded")]);

        let slow = HealthChecks::new(
            vec![Probe::new("db", true, || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })],
            Duration::from_millis(50),
        );
        let (ready, r) = slow.check().await;
        assert!(!ready);
        assert_eq!(r[0].status, "down");
        assert!(r[0].error.as_deref().unwrap_or_default().contains("no answer"));
    }

    #[tokio::test]
    async fn reports_are_reused_for_a_second() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let checks = HealthChecks::new(
            vec![Probe::new("db", true, move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { Ok(()) }
            })],
            Duration::from_millis(200),
        );
        let storm: Vec<_> = (0..50).map(|_| checks.check()).collect();
        for r in futures_util::future::join_all(storm).await {
            assert!(r.0);
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1, "50 concurrent probes, one check");
        tokio::time::sleep(HealthChecks::CACHE_FOR + Duration::from_millis(50)).await;
        checks.check().await;
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2, "checked again after a second");
    }
}
