//! JWT access tokens (HS256), with the algorithm pinned and every
//! registered claim checked.

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use watchme_core::domain::{Role, UserId};
use watchme_core::error::{cause, TokenError};
use watchme_core::ports::{AccessClaims, IssuedToken, TokenIssuer};

/// How tokens are signed and what they must say.
#[derive(Clone)]
pub struct JwtConfig {
    /// HMAC secret (at least 32 bytes).
    pub secret: Vec<u8>,
    /// `iss` written and required.
    pub issuer: String,
    /// `aud` written and required.
    pub audience: String,
    /// Lifetime of an access token.
    pub ttl: Duration,
    /// Clock skew tolerated when checking `exp` and `nbf`.
    pub leeway: Duration,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish()
    }
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

/// Issues and verifies HS256 access tokens.
pub struct JwtIssuer {
    config: JwtConfig,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtIssuer {
    /// An issuer for `config`.
    pub fn new(config: JwtConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = config.leeway.as_secs();
        Self {
            encoding: EncodingKey::from_secret(&config.secret),
            decoding: DecodingKey::from_secret(&config.secret),
            validation,
            config,
        }
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
        let token = encode(&Header::new(Algorithm::HS256), &body, &self.encoding)
            .map_err(|e| TokenError::Internal(cause(e)))?;
        Ok(IssuedToken { token, expires_in: self.config.ttl })
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| TokenError::Invalid)?;
        let c = data.claims;
        let session_id = match c.sid {
            None => None,
            Some(s) => Some(Uuid::parse_str(&s).map_err(|_| TokenError::Invalid)?),
        };
        Ok(AccessClaims {
            user_id: UserId::parse(&c.sub).map_err(|_| TokenError::Invalid)?,
            role: c.role.parse::<Role>().map_err(|_| TokenError::Invalid)?,
            session_id,
        })
    }
}

/// A fresh random secret: 32 bytes from the OS, hex-encoded.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> JwtConfig {
        JwtConfig {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: "watchme".into(),
            audience: "watchme-api".into(),
            ttl: Duration::from_secs(900),
            leeway: Duration::from_secs(0),
        }
    }

    fn claims() -> AccessClaims {
        AccessClaims { user_id: UserId::new(), role: Role::Admin, session_id: Some(Uuid::new_v4()) }
    }

    fn forge(body: &Claims, alg: Algorithm, secret: &[u8]) -> String {
        encode(&Header::new(alg), body, &EncodingKey::from_secret(secret)).unwrap()
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
    fn issued_tokens_verify_to_their_claims() {
        let issuer = JwtIssuer::new(config());
        let c = claims();
        let t = issuer.issue(&c).unwrap();
        assert_eq!(t.expires_in, Duration::from_secs(900));
        assert_eq!(issuer.verify(&t.token).unwrap(), c);
    }

    #[test]
    fn forged_and_stale_tokens_are_invalid() {
        let issuer = JwtIssuer::new(config());
        let c = claims();
        let secret = config().secret;
        let good = forge(&body(&c, |_| {}), Algorithm::HS256, &secret);
        assert!(issuer.verify(&good).is_ok(), "control case must verify");
        let mut tampered = good.clone();
        tampered.insert(good.rfind('.').unwrap() + 2, 'A');
        let header_none = {
            let parts: Vec<&str> = good.split('.').collect();
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1])
        };
        let cases: Vec<(String, &str)> = vec![
            (forge(&body(&c, |_| {}), Algorithm::HS256, b"another-secret-another-secret-xx"), "wrong key"),
            (forge(&body(&c, |_| {}), Algorithm::HS512, &secret), "other algorithm"),
            (header_none, "alg none"),
            (forge(&body(&c, |b| b.iss = "evil".into()), Algorithm::HS256, &secret), "bad iss"),
            (forge(&body(&c, |b| b.aud = "other".into()), Algorithm::HS256, &secret), "bad aud"),
            (forge(&body(&c, |b| b.exp = now_secs() - 10), Algorithm::HS256, &secret), "expired"),
            (forge(&body(&c, |b| b.nbf = now_secs() + 600), Algorithm::HS256, &secret), "not yet valid"),
            (forge(&body(&c, |b| b.sub = "not-a-uuid".into()), Algorithm::HS256, &secret), "bad sub"),
            (forge(&body(&c, |b| b.role = "root".into()), Algorithm::HS256, &secret), "bad role"),
            (tampered, "tampered signature"),
            ("".into(), "empty"),
            ("a.b.c".into(), "garbage"),
        ];
        for (token, case) in cases {
            assert!(matches!(issuer.verify(&token), Err(TokenError::Invalid)), "case: {case}");
        }
    }

    #[test]
    fn secrets_are_random_hex() {
        let (a, b) = (generate_secret().unwrap(), generate_secret().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
