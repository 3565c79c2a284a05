//! Cryptography adapters: argon2id password hashing, JWT access tokens (HS256 or EdDSA, rotating keys) and refresh tokens.

mod argon;
mod jwt;

pub use argon::{Argon2Hasher, Argon2Params};
pub use jwt::{generate_secret, JwtAlgorithm, JwtConfig, JwtIssuer, JwtKey, KeyError};
