//! Identifiers and secrets: 32-hex ids, bearer tokens and their hashes, generated passwords.

use sha2::{Digest, Sha256};

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).expect("the operating system's random source failed");
    buf
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A new 32-hex lower-case id, the form the API uses for groups, networks, uuids and operations.
pub fn new_id() -> String {
    hex(&random_bytes::<16>())
}

/// True for a 32-character hex string (any case).
pub fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A new bearer token: 256 random bits. Only its hash is ever stored.
pub fn new_token() -> String {
    hex(&random_bytes::<32>())
}

/// The stored form of a bearer token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A password that meets the cloud's complexity rules: upper, lower, digit and symbol, 16 characters.
pub fn new_password() -> String {
    const SETS: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"!@#$%*-_+=",
    ];
    let bytes = random_bytes::<16>();
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = SETS[i % 4];
            set[*b as usize % set.len()] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_and_distinct() {
        let (a, b) = (new_id(), new_id());
        assert!(is_hex32(&a) && is_hex32(&b));
        assert_ne!(a, b);
        assert_eq!(a, a.to_lowercase());
    }

    #[test]
    fn generated_passwords_have_every_class() {
        let p = new_password();
        assert_eq!(p.len(), 16);
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(p.chars().any(|c| !c.is_ascii_alphanumeric()));
    }
}
