//! Login throughput against the cost of one argon2id hash, in process:
//! the service over memory adapters, so the hash is all that is measured.
//! Run by `scripts/bench-login.sh` (release build):
//!
//! `bench_login [seconds per run] [memory KiB] [iterations] [parallelism]`
//!
//! Prints the median time of one hash and verification on one thread, the
//! ceiling that implies for this machine's cores, and logins/s measured
//! with 1, 2, 4 and 16 concurrent clients, with the default limit on
//! concurrent hashes (cores - 1) and with one hash per core.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use watchme_adapters::crypto::{Argon2Hasher, Argon2Params, JwtConfig, JwtIssuer, JwtKey};
use watchme_adapters::memory::MemoryStore;
use watchme_core::domain::{ClientInfo, Email, Password, RequestContext};
use watchme_core::ports::{PasswordHasher, SystemClock};
use watchme_core::services::{AuthService, AuthSettings, Registration};

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let secs = args.first().copied().unwrap_or(5);
    let params = Argon2Params {
        memory_kib: args.get(1).copied().unwrap_or(19 * 1024) as u32,
        iterations: args.get(2).copied().unwrap_or(2) as u32,
        parallelism: args.get(3).copied().unwrap_or(1) as u32,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let hasher = Arc::new(Argon2Hasher::new(params).expect("parameters"));
    let password = Password::parse("correct horse battery").unwrap();
    let hash = hasher.hash(&password).await.unwrap();

    let mut samples: Vec<Duration> = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        assert!(hasher.verify(&password, &hash).await.unwrap());
        samples.push(started.elapsed());
    }
    samples.sort();
    let one = samples[samples.len() / 2];
    println!(
        "argon2id m={} KiB t={} p={}: one verification {:.1} ms (median of 21); ceiling on {cores} cores {:.1} logins/s",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        one.as_secs_f64() * 1000.0,
        cores as f64 / one.as_secs_f64()
    );

    let permits = cores.saturating_sub(1).max(1);
    for (label, limited) in [
        (format!("default, {permits} hash(es) at once"), (*hasher).clone()),
        (format!("{cores} hashes at once"), (*hasher).clone().with_max_concurrent(cores)),
    ] {
        println!("-- {label}");
        sweep(Arc::new(limited), &password, secs).await;
    }
}

async fn sweep(hasher: Arc<Argon2Hasher>, password: &Password, secs: u64) {
    let store = MemoryStore::new();
    let key = JwtKey::hs256("bench", b"bench-secret-bench-secret-bench-secret").unwrap();
    let tokens = JwtIssuer::new(JwtConfig {
        signing: key,
        verify_only: vec![],
        issuer: "watchme".into(),
        audience: "watchme-api".into(),
        ttl: Duration::from_secs(900),
        leeway: Duration::from_secs(5),
    })
    .unwrap();
    let auth = Arc::new(AuthService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        hasher,
        Arc::new(tokens),
        Arc::new(SystemClock),
        AuthSettings { admin_emails: HashSet::new(), ..AuthSettings::default() },
    ));
    let email = Email::parse("bench@example.com").unwrap();
    let ctx = RequestContext::anonymous();
    auth.register(&ctx, Registration { email: email.clone(), password: password.clone(), display_name: None })
        .await
        .unwrap();

    for clients in [1usize, 2, 4, 16] {
        let done = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (auth, done, email, password) = (auth.clone(), done.clone(), email.clone(), password.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    auth.login(&RequestContext::anonymous(), &email, &password, ClientInfo::default()).await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let started = Instant::now();
        for t in tasks {
            t.await.unwrap();
        }
        let n = done.load(Ordering::Relaxed);
        println!(
            "{clients:>2} concurrent clients: {:.1} logins/s ({n} in {:.1} s)",
            n as f64 / started.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    }
}
