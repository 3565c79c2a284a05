//! JWT access tokens signed with HS256 or EdDSA (Ed25519), each key named by
//! a key id (`kid`) so keys can be rotated: tokens are signed with the
//! current key, and verified with whichever configured key their `kid`
//! names, with that key's algorithm pinned. Also the opaque refresh tokens.

use std::time::Duration;

use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use watchme_core::domain::{RefreshToken, RefreshTokenHash, Role, SessionId, UserId};
use watchme_core::error::{cause, TokenError};
use watchme_core::ports::{AccessClaims, IssuedToken, TokenIssuer};

/// Signature algorithms WatchMe signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret: every replica that verifies can also sign.
    Hs256,
    /// Ed25519 signatures: verifiers need only the public key.
    EdDsa,
}

impl JwtAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl std::str::FromStr for JwtAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HS256" => Ok(Self::Hs256),
            "EDDSA" | "ED25519" => Ok(Self::EdDsa),
            _ => Err(KeyError(format!("unknown algorithm `{s}`: use HS256 or EdDSA"))),
        }
    }
}

/// A key that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// One key: its id, algorithm, and what it can do (verify always, sign if private).
#[derive(Clone)]
pub struct JwtKey {
    kid: String,
    algorithm: JwtAlgorithm,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.encoding.is_some())
            .finish_non_exhaustive()
    }
}

fn check_kid(kid: &str) -> Result<String, KeyError> {
    let kid = kid.trim();
    if kid.is_empty() || kid.len() > 64 || !kid.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(KeyError(format!("key id `{kid}` must be 1 to 64 letters, digits, `-`, `_` or `.`")));
    }
    Ok(kid.to_owned())
}

impl JwtKey {
    /// An HS256 key (signs and verifies); the secret must be at least 32 bytes.
    ///
    /// # Errors
    /// A bad key id or a short secret.
    pub fn hs256(kid: &str, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 32 {
            return Err(KeyError("an HS256 secret must be at least 32 bytes".into()));
        }
        Ok(Self {
            kid: check_kid(kid)?,
            algorithm: JwtAlgorithm::Hs256,
            encoding: Some(EncodingKey::from_secret(secret)),
            decoding: DecodingKey::from_secret(secret),
        })
    }

    /// An Ed25519 key pair from PEM files' contents (PKCS#8 private key, SPKI public key).
    ///
    /// # Errors
    /// A bad key id or PEM that is not an Ed25519 key.
    pub fn ed25519(kid: &str, private_pem: &[u8], public_pem: &[u8]) -> Result<Self, KeyError> {
        let encoding = EncodingKey::from_ed_pem(private_pem)
            .map_err(|e| KeyError(format!("not an Ed25519 private key in PEM (PKCS#8): {e}")))?;
        let mut key = Self::ed25519_public(kid, public_pem)?;
        key.encoding = Some(encoding);
        Ok(key)
    }

    /// An Ed25519 public key that only verifies (a retired key, or a verifier-only replica).
    ///
    /// # Errors
    /// A bad key id or PEM that is not an Ed25519 public key.
    pub fn ed25519_public(kid: &str, public_pem: &[u8]) -> Result<Self, KeyError> {
        let decoding = DecodingKey::from_ed_pem(public_pem)
            .map_err(|e| KeyError(format!("not an Ed25519 public key in PEM: {e}")))?;
        Ok(Self { kid: check_kid(kid)?, algorithm: JwtAlgorithm::EdDsa, encoding: None, decoding })
    }

    /// Its key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }
}

/// How tokens are signed and what they must say.
#[derive(Clone, Debug)]
pub struct JwtConfig {
    /// The key new tokens are signed with (must be able to sign).
    pub signing: JwtKey,
    /// Older keys still accepted for verification until their tokens expire.
    pub verify_only: Vec<JwtKey>,
    /// `iss` written and required.
    pub issuer: String,
    /// `aud` written and required.
    pub audience: String,
    /// Lifetime of an access token.
    pub ttl: Duration,
    /// Clock skew tolerated when checking `exp` and `nbf`.
    pub leeway: Duration,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    iss: String,
    aud: String,
    exp: u64,
    iat: u64,
    nbf: u64,
    jti: String,
}

struct Verifier {
    key: JwtKey,
    validation: Validation,
}

/// Issues and verifies access tokens, and mints refresh tokens.
pub struct JwtIssuer {
    config: JwtConfig,
    encoding: EncodingKey,
    header: Header,
    verifiers: Vec<Verifier>,
}

impl JwtIssuer {
    /// An issuer for `config`.
    ///
    /// # Errors
    /// When the signing key cannot sign, or two keys share a key id.
    pub fn new(config: JwtConfig) -> Result<Self, KeyError> {
        let encoding = config
            .signing
            .encoding
            .clone()
            .ok_or_else(|| KeyError(format!("key `{}` has no private part to sign with", config.signing.kid)))?;
        let mut header = Header::new(config.signing.algorithm.jwt());
        header.kid = Some(config.signing.kid.clone());
        let mut verifiers: Vec<Verifier> = Vec::new();
        for key in std::iter::once(&config.signing).chain(&config.verify_only) {
            if verifiers.iter().any(|v| v.key.kid == key.kid) {
                return Err(KeyError(format!("key id `{}` is configured twice", key.kid)));
            }
            // One algorithm per key: a token naming another algorithm for this kid is refused.
            let mut validation = Validation::new(key.algorithm.jwt());
            validation.set_issuer(&[&config.issuer]);
            validation.set_audience(&[&config.audience]);
            validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = config.leeway.as_secs();
            verifiers.push(Verifier { key: key.clone(), validation });
        }
        Ok(Self { config, encoding, header, verifiers })
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl TokenIssuer for JwtIssuer {
    fn issue(&self, claims: &AccessClaims) -> Result<IssuedToken, TokenError> {
        let now = now_secs();
        let body = Claims {
            sub: claims.user_id.to_string(),
            role: claims.role.as_str().to_owned(),
            sid: claims.session_id.map(|s| s.to_string()),
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            exp: now + self.config.ttl.as_secs(),
            iat: now,
            nbf: now,
            jti: Uuid::new_v4().to_string(),
        };
        let token = encode(&self.header, &body, &self.encoding).map_err(|e| TokenError::Internal(cause(e)))?;
        Ok(IssuedToken { token, expires_in: self.config.ttl })
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let v = self.verifiers.iter().find(|v| v.key.kid == kid).ok_or(TokenError::Invalid)?;
        let data = decode::<Claims>(token, &v.key.decoding, &v.validation).map_err(|_| TokenError::Invalid)?;
        let c = data.claims;
        let session_id = match c.sid {
            None => None,
            Some(s) => Some(SessionId::parse(&s).map_err(|_| TokenError::Invalid)?),
        };
        Ok(AccessClaims {
            user_id: UserId::parse(&c.sub).map_err(|_| TokenError::Invalid)?,
            role: c.role.parse::<Role>().map_err(|_| TokenError::Invalid)?,
            session_id,
            api_token: None,
        })
    }

    fn new_refresh_token(&self) -> Result<(RefreshToken, RefreshTokenHash), TokenError> {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).map_err(|e| TokenError::Internal(cause(e)))?;
        // The prefix lets secret scanners recognise a leaked token.
        let token = RefreshToken::new(format!("wmr_{}", hex(&buf)));
        let hash = self.hash_refresh_token(&token);
        Ok((token, hash))
    }

    fn hash_refresh_token(&self, token: &RefreshToken) -> RefreshTokenHash {
        RefreshTokenHash::new(hex(&Sha256::digest(token.expose().as_bytes())))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random secret: 32 bytes from the OS, hex-encoded.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf)?;
    Ok(hex(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    // A throwaway Ed25519 pair (openssl genpkey -algorithm ed25519), only for these tests.
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPF+fvpkAusQXk2v4BEN22O1n6F/g80pGAzOZMXPOwYX\n-----END PRIVATE KEY-----\n";
    const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEANEWs5bSzwP8XtgEFCCs311PxSSME9FWxkL9P02hha7Q=\n-----END PUBLIC KEY-----\n";

    fn config(signing: JwtKey, verify_only: Vec<JwtKey>) -> JwtConfig {
        JwtConfig {
            signing,
            verify_only,
            issuer: "watchme".into(),
            audience: "watchme-api".into(),
            ttl: Duration::from_secs(900),
            leeway: Duration::from_secs(0),
        }
    }

    fn hs(kid: &str, secret: &[u8]) -> JwtKey {
        JwtKey::hs256(kid, secret).unwrap()
    }

    fn claims() -> AccessClaims {
        AccessClaims { user_id: UserId::new(), role: Role::Admin, session_id: Some(SessionId::new()), api_token: None }
    }

    fn forge(body: &Claims, alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
        let mut h = Header::new(alg);
        h.kid = kid.map(str::to_owned);
        encode(&h, body, key).unwrap()
    }

    fn body(c: &AccessClaims, f: impl FnOnce(&mut Claims)) -> Claims {
        let now = now_secs();
        let mut b = Claims {
            sub: c.user_id.to_string(),
            role: "user".into(),
            sid: None,
            iss: "watchme".into(),
            aud: "watchme-api".into(),
            exp: now + 600,
            iat: now,
            nbf: now,
            jti: "x".into(),
        };
        f(&mut b);
        b
    }

    #[test]
    fn issued_tokens_verify_to_their_claims_with_either_algorithm() {
        let ed = JwtKey::ed25519("ed-1", ED_PRIVATE.as_bytes(), ED_PUBLIC.as_bytes()).unwrap();
        for key in [hs("k1", SECRET), ed] {
            let issuer = JwtIssuer::new(config(key, vec![])).unwrap();
            let c = claims();
            let t = issuer.issue(&c).unwrap();
            assert_eq!(t.expires_in, Duration::from_secs(900));
            assert_eq!(issuer.verify(&t.token).unwrap(), c);
        }
    }

    #[test]
    fn rotated_keys_keep_verifying_until_removed() {
        let old = JwtIssuer::new(config(hs("2026-01", SECRET), vec![])).unwrap();
        let token = old.issue(&claims()).unwrap().token;
        let ed = JwtKey::ed25519("2026-02", ED_PRIVATE.as_bytes(), ED_PUBLIC.as_bytes()).unwrap();
        let rotated = JwtIssuer::new(config(ed.clone(), vec![hs("2026-01", SECRET)])).unwrap();
        assert!(rotated.verify(&token).is_ok(), "the old key still verifies its tokens");
        assert!(rotated.verify(&rotated.issue(&claims()).unwrap().token).is_ok());
        let retired = JwtIssuer::new(config(ed, vec![])).unwrap();
        assert!(matches!(retired.verify(&token), Err(TokenError::Invalid)), "a removed key verifies nothing");
    }

    #[test]
    fn keys_are_checked_when_configured() {
        assert!(JwtKey::hs256("k", b"short").is_err());
        assert!(JwtKey::hs256("bad kid!", SECRET).is_err());
        assert!(JwtKey::ed25519("k", b"nonsense", ED_PUBLIC.as_bytes()).is_err());
        let public_only = JwtKey::ed25519_public("k", ED_PUBLIC.as_bytes()).unwrap();
        assert!(JwtIssuer::new(config(public_only, vec![])).is_err(), "cannot sign with a public key");
        assert!(JwtIssuer::new(config(hs("k", SECRET), vec![hs("k", SECRET)])).is_err(), "duplicate kid");
    }

    #[test]
    fn forged_and_stale_tokens_are_invalid() {
        let ed = JwtKey::ed25519_public("ed", ED_PUBLIC.as_bytes()).unwrap();
        let issuer = JwtIssuer::new(config(hs("k1", SECRET), vec![ed])).unwrap();
        let c = claims();
        let key = EncodingKey::from_secret(SECRET);
        let good = forge(&body(&c, |_| {}), Algorithm::HS256, Some("k1"), &key);
        assert!(issuer.verify(&good).is_ok(), "control case must verify");
        let mut tampered = good.clone();
        tampered.insert(good.rfind('.').unwrap() + 2, 'A');
        let mut tampered_body = good.clone();
        tampered_body.insert(good.find('.').unwrap() + 3, 'x');
        let header_none = {
            let parts: Vec<&str> = good.split('.').collect();
            // {"alg":"none","typ":"JWT","kid":"k1"}
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoiazEifQ.{}.", parts[1])
        };
        let ed_private = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        let other = EncodingKey::from_secret(b"another-secret-another-secret-xx");
        let cases: Vec<(String, &str)> = vec![
            (forge(&body(&c, |_| {}), Algorithm::HS256, Some("k1"), &other), "wrong key"),
            (forge(&body(&c, |_| {}), Algorithm::HS512, Some("k1"), &key), "other algorithm"),
            (forge(&body(&c, |_| {}), Algorithm::HS256, Some("ed"), &key), "HS256 with the EdDSA key's kid"),
            (forge(&body(&c, |_| {}), Algorithm::EdDSA, Some("k1"), &ed_private), "EdDSA with the HS256 key's kid"),
            (forge(&body(&c, |_| {}), Algorithm::HS256, None, &key), "no kid"),
            (forge(&body(&c, |_| {}), Algorithm::HS256, Some("k9"), &key), "unknown kid"),
            (header_none, "alg none"),
            (forge(&body(&c, |b| b.iss = "evil".into()), Algorithm::HS256, Some("k1"), &key), "bad iss"),
            (forge(&body(&c, |b| b.aud = "other".into()), Algorithm::HS256, Some("k1"), &key), "bad aud"),
            (forge(&body(&c, |b| b.exp = now_secs() - 10), Algorithm::HS256, Some("k1"), &key), "expired"),
            (forge(&body(&c, |b| b.nbf = now_secs() + 600), Algorithm::HS256, Some("k1"), &key), "not yet valid"),
            (forge(&body(&c, |b| b.sub = "not-a-uuid".into()), Algorithm::HS256, Some("k1"), &key), "bad sub"),
            (forge(&body(&c, |b| b.role = "root".into()), Algorithm::HS256, Some("k1"), &key), "bad role"),
            (forge(&body(&c, |b| b.sid = Some("x".into())), Algorithm::HS256, Some("k1"), &key), "bad sid"),
            (tampered, "tampered signature"),
            (tampered_body, "tampered claims"),
            ("".into(), "empty"),
            ("a.b.c".into(), "garbage"),
        ];
        for (token, case) in cases {
            assert!(matches!(issuer.verify(&token), Err(TokenError::Invalid)), "case: {case}");
        }
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_as_their_digest() {
        let issuer = JwtIssuer::new(config(hs("k1", SECRET), vec![])).unwrap();
        let (a, ha) = issuer.new_refresh_token().unwrap();
        let (b, _) = issuer.new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 4 + 64, "wmr_ + 256 bits in hex");
        assert_eq!(issuer.hash_refresh_token(&a), ha);
        assert!(!ha.as_str().contains(&a.expose()[4..]), "the hash is not the token");
    }

    #[test]
    fn secrets_are_random_hex() {
        let (a, b) = (generate_secret().unwrap(), generate_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
