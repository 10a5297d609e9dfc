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

/// A new 32-hex lower-case id, the form the API uses for groups, networks, uuids and operations:
/// the time in milliseconds (48 bits), then 80 random bits. Ids made one after another sort
/// together, so the indexes that hold them grow at one end: a batch of new rows changes a few
/// index pages rather than one page per row.
pub fn new_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&random_bytes::<10>());
    hex(&bytes)
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
    fn ids_begin_with_the_time_they_were_made() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let id = new_id();
        let millis = u64::from_str_radix(&id[..12], 16).unwrap();
        assert!(millis >= now && millis - now < 60_000, "{id} made at {now}");
        // The rest is random: two ids of the same millisecond still differ.
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
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
