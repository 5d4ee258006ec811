//! Password hashing as Moodle 4.4's hash_internal_user_password: SHA-512 crypt, 10,000 rounds,
//! 16-character salt (`$6$rounds=10000$<salt>$<hash>`).

use sha_crypt::{sha512_check, sha512_simple, Sha512Params};

pub const ROUNDS: usize = 10_000;

pub fn hash(password: &str) -> String {
    let params = Sha512Params::new(ROUNDS).expect("10000 is within the allowed rounds");
    sha512_simple(password, &params).expect("hashing a valid UTF-8 password cannot fail")
}

/// Whether `stored` is the hash of `password` (SHA-512 crypt only; bcrypt is not read).
pub fn matches(password: &str, stored: &str) -> bool {
    stored.starts_with("$6$") && sha512_check(password, stored).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moodle_format_and_check() {
        let h = hash("S3cret!");
        assert!(h.starts_with("$6$rounds=10000$"), "{h}");
        let salt = h.split('$').nth(3).unwrap();
        assert_eq!(salt.len(), 16);
        assert!(matches("S3cret!", &h));
        assert!(!matches("s3cret!", &h));
        assert!(!matches("x", "not cached"));
    }
}
