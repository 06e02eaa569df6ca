//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
//! keyed by the bytes of a `whsec_<base64>` secret.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Fewest and most secret bytes (Standard Webhooks: 24–64).
pub const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Signs and verifies with one secret.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(…)")
    }
}

impl Signer {
    /// From `whsec_<base64 of 24–64 bytes>`.
    pub fn from_secret(secret: &str) -> Result<Self, String> {
        let encoded = secret
            .strip_prefix("whsec_")
            .ok_or("a secret starts with `whsec_`")?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "a secret is `whsec_` and standard base64")?;
        if !SECRET_BYTES.contains(&key.len()) {
            return Err(format!("a secret holds 24 to 64 bytes, not {}", key.len()));
        }
        Ok(Self { key })
    }

    /// A fresh random secret, `whsec_` and 32 random bytes.
    pub fn random_secret() -> String {
        let bytes: Vec<u8> = uuid::Uuid::new_v4()
            .as_bytes()
            .iter()
            .chain(uuid::Uuid::new_v4().as_bytes())
            .copied()
            .collect();
        format!("whsec_{}", STANDARD.encode(bytes))
    }

    /// `v1,<base64 signature>` of a message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    /// Whether any `v1,` entry of a space-separated `webhook-signature` header matches.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        let expected = self.mac(id, timestamp, body);
        header.split(' ').any(|entry| {
            entry
                .strip_prefix("v1,")
                .and_then(|sig| STANDARD.decode(sig).ok())
                .is_some_and(|sig| constant_time_eq(&sig, &expected))
        })
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        // HMAC takes a key of any length.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return Vec::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_test_vector() {
        let signer = Signer::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let signature = signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(signer.verify(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
            "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        ));
        assert!(!signer.verify("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, &signature));
    }

    /// `signature` with its base64-decoded MAC changed by `change`, re-encoded.
    fn altered(signature: &str, change: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut mac = STANDARD
            .decode(signature.strip_prefix("v1,").expect("v1"))
            .expect("base64");
        change(&mut mac);
        format!("v1,{}", STANDARD.encode(mac))
    }

    #[test]
    fn a_signature_differing_anywhere_fails() {
        let signer = Signer::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let (id, at, body) = ("msg_1", 1614265330, b"{}".as_slice());
        let good = signer.sign(id, at, body);
        assert!(signer.verify(id, at, body, &good));
        // Two differences that cancel out in a XOR or a wrapping sum of the differences.
        for (bit, second) in [(0x01, 1), (0x80, 1), (0x80, 31), (0x10, 17)] {
            let bad = altered(&good, |mac| {
                mac[0] ^= bit;
                mac[second] ^= bit;
            });
            assert!(
                !signer.verify(id, at, body, &bad),
                "bit {bit:#x} at 0 and {second}"
            );
        }
        let one_byte = altered(&good, |mac| mac[31] ^= 0x01);
        assert!(!signer.verify(id, at, body, &one_byte));
        let truncated = altered(&good, |mac| mac.truncate(31));
        assert!(!signer.verify(id, at, body, &truncated));
        let longer = altered(&good, |mac| mac.push(0));
        assert!(!signer.verify(id, at, body, &longer));
        assert!(!signer.verify(id, at, body, "v1,"));
        assert!(!signer.verify(id, at, body, ""));
        // The right MAC without its version prefix is not a signature.
        assert!(!signer.verify(id, at, body, good.trim_start_matches("v1,")));
    }

    #[test]
    fn constant_time_eq_compares_every_byte() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(&[0x01, 0x01], &[0x00, 0x00]));
        assert!(!constant_time_eq(&[0x80, 0x80], &[0x00, 0x00]));
        assert!(!constant_time_eq(&[0x01, 0xff], &[0x00, 0x00]));
    }

    #[test]
    fn secrets_are_checked() {
        assert!(Signer::from_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(Signer::from_secret("whsec_c2hvcnQ=").is_err());
        assert!(Signer::from_secret("whsec_!!!").is_err());
        assert!(Signer::from_secret(&Signer::random_secret()).is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let signer = Signer::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(format!("{signer:?}"), "Signer(…)");
    }
}
