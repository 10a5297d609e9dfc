//! The operator's admin token. Only its argon2 hash is configured; the token itself is known to
//! the operator alone. Verifying argon2 is slow on purpose, so the last token that verified is
//! remembered by its SHA-256 and later requests with it are checked cheaply.

use std::sync::Mutex;

use argon2::password_hash::PasswordHash;

pub struct AdminToken {
    hash: String,
    verified: Mutex<Option<Vec<u8>>>,
}

impl AdminToken {
    /// Reads an argon2 PHC string (`$argon2id$v=19$...`).
    pub fn new(phc: &str) -> Result<AdminToken, String> {
        let phc = phc.trim();
        let parsed = PasswordHash::new(phc)
            .map_err(|e| format!("the admin token hash is not a PHC string: {e}"))?;
        if !parsed.algorithm.as_str().starts_with("argon2") {
            return Err("the admin token hash must be an argon2 hash".into());
        }
        Ok(AdminToken {
            hash: phc.to_owned(),
            verified: Mutex::new(None),
        })
    }

    /// Whether `token` is the admin token.
    pub async fn verify(&self, token: &str) -> bool {
        let digest = crate::ids::token_hash(token);
        if self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            == Some(digest.as_slice())
        {
            return true;
        }
        let (token, hash) = (token.to_owned(), self.hash.clone());
        let ok =
            tokio::task::spawn_blocking(move || crate::domain::passwords::verify(&token, &hash))
                .await
                .unwrap_or(false);
        if ok {
            *self.verified.lock().unwrap_or_else(|p| p.into_inner()) = Some(digest);
        }
        ok
    }
}

/// A new admin token and its hash, for `ctlcloud admin token-hash`.
pub fn generate() -> (String, String) {
    let token = crate::ids::new_token();
    let hash = crate::domain::passwords::hash(&token);
    (token, hash)
}
