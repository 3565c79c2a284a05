//! argon2id password hashing on tokio's blocking pool.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash as Phc, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use watchme_core::domain::{Password, PasswordHash};
use watchme_core::error::{cause, HashError};
use watchme_core::ports::PasswordHasher;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Params {
    /// OWASP's recommended minimum for argon2id: 19 MiB, 2 passes, 1 lane.
    pub const OWASP: Self = Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Hashes with argon2id. Hashing costs tens of milliseconds of CPU, so it
/// runs on tokio's blocking pool: a login never stalls other requests. At
/// most `max_concurrent` hashes run at once (default: one core fewer than
/// the machine has, at least one); more would not finish sooner, only fight
/// over cores and memory bandwidth and starve the threads serving everything
/// else during a login flood (docs/benchmarks.md has the numbers).
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
}

impl Argon2Hasher {
    /// A hasher with the given cost.
    ///
    /// # Errors
    /// [`HashError::Internal`] when argon2 refuses the parameters.
    pub fn new(p: Argon2Params) -> Result<Self, HashError> {
        let params =
            Params::new(p.memory_kib, p.iterations, p.parallelism, None).map_err(|e| HashError::Internal(cause(e)))?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Ok(Self { params, permits: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))) })
    }

    /// The same hasher allowing at most `n` (at least 1) hashes at once.
    #[must_use]
    pub fn with_max_concurrent(mut self, n: usize) -> Self {
        self.permits = Arc::new(Semaphore::new(n.max(1)));
        self
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.permits.acquire().await.map_err(|e| HashError::Internal(cause(e)))?;
        tokio::task::spawn_blocking(f).await.map_err(|e| HashError::Internal(cause(e)))?
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    #[tracing::instrument(name = "argon2id.hash", skip_all, fields(otel.name = "argon2id hash"))]
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let (argon, pw) = (self.argon(), password.clone());
        self.blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon
                .hash_password(pw.expose().as_bytes(), &salt)
                .map(|h| PasswordHash::new(h.to_string()))
                .map_err(|e| HashError::Internal(cause(e)))
        })
        .await
    }

    #[tracing::instrument(name = "argon2id.verify", skip_all, fields(otel.name = "argon2id verify"))]
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError> {
        let (pw, phc) = (password.clone(), hash.as_str().to_owned());
        self.blocking(move || {
            let parsed = Phc::new(&phc).map_err(|e| HashError::Malformed(cause(e)))?;
            // Verification takes algorithm and cost from the hash itself, so
            // hashes made with older parameters keep working.
            match Argon2::default().verify_password(pw.expose().as_bytes(), &parsed) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::Password) => Ok(false),
                Err(e) => Err(HashError::Malformed(cause(e))),
            }
        })
        .await
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = Phc::new(hash.as_str()) else { return true };
        let same_params = Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == self.params.m_cost()
                && p.t_cost() == self.params.t_cost()
                && p.p_cost() == self.params.p_cost()
        });
        parsed.algorithm.as_str() != "argon2id" || parsed.version != Some(Version::V0x13 as u32) || !same_params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Hasher {
        Argon2Hasher::new(Argon2Params { memory_kib: 256, iterations: 1, parallelism: 1 }).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_carry_their_parameters() {
        let h = cheap();
        let pw = Password::parse("correct horse battery").unwrap();
        let hash = h.hash(&pw).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert!(h.verify(&pw, &hash).await.unwrap());
        assert!(!h.verify(&Password::parse("wrong password").unwrap(), &hash).await.unwrap());
        assert!(!h.needs_rehash(&hash));
    }

    #[tokio::test]
    async fn hashes_with_old_parameters_still_verify_and_ask_for_rehash() {
        let pw = Password::parse("correct horse battery").unwrap();
        let old = cheap().hash(&pw).await.unwrap();
        let current = Argon2Hasher::new(Argon2Params { memory_kib: 512, iterations: 2, parallelism: 1 }).unwrap();
        assert!(current.verify(&pw, &old).await.unwrap());
        assert!(current.needs_rehash(&old));
    }

    #[tokio::test]
    async fn malformed_hash_is_an_error_not_a_panic() {
        let err = cheap().verify(&Password::parse("whatever1").unwrap(), &PasswordHash::new("nonsense")).await;
        assert!(matches!(err, Err(HashError::Malformed(_))));
    }

    #[test]
    fn owasp_parameters_are_the_default() {
        assert_eq!(Argon2Params::default(), Argon2Params { memory_kib: 19456, iterations: 2, parallelism: 1 });
    }
}
