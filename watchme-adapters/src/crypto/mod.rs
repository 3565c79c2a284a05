//! Cryptography adapters: argon2id password hashing and JWT access tokens.

mod argon;
mod jwt;

pub use argon::{Argon2Hasher, Argon2Params};
pub use jwt::{generate_secret, JwtConfig, JwtIssuer};
