//! The keys access tokens are signed and verified with: key files read,
//! and an HS256 secret generated into the data directory on first start.

use std::path::Path;

use watchme_adapters::crypto::{generate_secret, JwtKey};

use super::error::{io, StartError};
use crate::config::{Config, PreviousKey, SigningKeySource};

/// The keys access tokens are signed and verified with.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    /// Signs new tokens.
    pub signing: JwtKey,
    /// Retired keys, verify only.
    pub verify_only: Vec<JwtKey>,
}

impl SigningKeys {
    /// One HS256 key and nothing else (tests, and commands that issue no tokens).
    ///
    /// # Errors
    /// [`StartError::Config`] for a secret shorter than 32 bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, StartError> {
        let signing = JwtKey::hs256("primary", secret).map_err(|e| StartError::Config(e.to_string()))?;
        Ok(Self { signing, verify_only: Vec::new() })
    }
}

/// The signing and verification keys from the config: key files are read
/// here, and an HS256 secret that is not configured is generated.
///
/// # Errors
/// [`StartError`] when a key file cannot be read or holds no usable key.
pub fn resolve_signing_keys(config: &Config) -> Result<SigningKeys, StartError> {
    let bad = |what: &str, e: watchme_adapters::crypto::KeyError| StartError::Config(format!("{what}: {e}"));
    let read = |path: &Path| std::fs::read(path).map_err(io(format!("reading key file {}", path.display())));
    let signing = match &config.security.signing {
        SigningKeySource::Hs256 { kid, secret } => {
            let secret = match secret {
                Some(s) => s.expose().as_bytes().to_vec(),
                None => resolve_jwt_secret(config)?,
            };
            JwtKey::hs256(kid, &secret).map_err(|e| bad("WATCHME_JWT_SECRET", e))?
        }
        SigningKeySource::EdDsa { kid, private_key, public_key } => {
            JwtKey::ed25519(kid, &read(private_key)?, &read(public_key)?)
                .map_err(|e| bad("WATCHME_JWT_PRIVATE_KEY_FILE", e))?
        }
    };
    let mut verify_only = Vec::new();
    for k in &config.security.previous_keys {
        verify_only.push(match k {
            PreviousKey::Hs256 { kid, secret } => {
                JwtKey::hs256(kid, secret.expose().as_bytes()).map_err(|e| bad("WATCHME_JWT_PREVIOUS_KEYS", e))?
            }
            PreviousKey::EdDsa { kid, public_key } => {
                JwtKey::ed25519_public(kid, &read(public_key)?).map_err(|e| bad("WATCHME_JWT_PREVIOUS_KEYS", e))?
            }
        });
    }
    Ok(SigningKeys { signing, verify_only })
}

/// The HS256 secret kept in `<data dir>/jwt_secret`, generated there on
/// first start so tokens survive a restart.
///
/// # Errors
/// [`StartError`] when the file cannot be read or written, or is too short.
pub fn resolve_jwt_secret(config: &Config) -> Result<Vec<u8>, StartError> {
    let path = config.server.data_dir.join("jwt_secret");
    if path.exists() {
        let s = std::fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))?;
        let s = s.trim();
        if s.len() < 32 {
            return Err(StartError::Config(format!(
                "{} holds fewer than 32 bytes; delete it to generate a new one",
                path.display()
            )));
        }
        return Ok(s.as_bytes().to_vec());
    }
    std::fs::create_dir_all(&config.server.data_dir)
        .map_err(io(format!("creating data directory {}", config.server.data_dir.display())))?;
    let secret = generate_secret().map_err(|e| StartError::Config(format!("no randomness for a JWT secret: {e}")))?;
    write_private(&path, &secret).map_err(io(format!("writing {}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a JWT signing secret and kept it in the data directory; set WATCHME_JWT_SECRET to manage it yourself");
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}
