//! User passwords: hashed with argon2id, verified in constant time, never stored or logged in clear.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Hashes a password as an argon2id PHC string.
pub fn hash(password: &str) -> String {
    let salt = SaltString::encode_b64(&crate::ids::random_bytes::<16>())
        .expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

/// Checks a password against a stored hash. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, verified for unknown users so that a login takes as long whether
/// or not the username exists.
pub static DECOY: LazyLock<String> = LazyLock::new(|| hash(&crate::ids::new_token()));

/// Rules every user password meets.
pub fn check_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < 8 {
        return Err("A password has at least 8 characters.".into());
    }
    if password.len() > 256 {
        return Err("A password has at most 256 bytes.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("P@ssw0rd1");
        let b = hash("P@ssw0rd1");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify("P@ssw0rd1", &a));
        assert!(!verify("P@ssw0rd2", &a));
        assert!(!verify("anything", "not a hash"));
        assert!(!verify("anything", &DECOY));
    }
}
