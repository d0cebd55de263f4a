//! The simulator's stand-in for S3 pre-signed URLs: results are served under `/__results/`
//! with an `X-Amz-Date`, `X-Amz-Expires` and a signature, and refused with S3's 403 once
//! expired or tampered with.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::clock::{self, Utc};
use super::store::StoredAsset;

/// Where results are served.
pub const RESULTS_PREFIX: &str = "/__results/";

/// Signs result URLs with a secret made at start: URLs from an earlier run stop working,
/// as the results they pointed to are gone with it.
pub struct Signer {
    secret: [u8; 32],
}

/// Why a result URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Expired,
    BadSignature,
    MissingQuery,
}

impl Signer {
    pub fn new_random() -> Self {
        let mut secret = [0u8; 32];
        let now = clock::unix_millis(std::time::SystemTime::now()) as u64;
        for (index, chunk) in secret.chunks_mut(8).enumerate() {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u64(now);
            hasher.write_usize(index);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
        Self { secret }
    }

    fn signature(&self, path: &str, date: &str, expires: &str) -> String {
        let mut digest = Sha256::new();
        digest.update(self.secret);
        for part in [path, date, expires] {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
        digest
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// `{base}/__results/{path}?X-Amz-...`, valid for `ttl` from `now`.
    pub fn url(&self, base: &str, path: &str, now: &Utc, ttl: Duration) -> String {
        let date = now.amz();
        let expires = ttl.as_secs().to_string();
        let signature = self.signature(path, &date, &expires);
        format!(
            "{base}{RESULTS_PREFIX}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}\
             &X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )
    }

    /// Checks the query of a result URL for `path` at `now` (unix seconds).
    pub fn verify(&self, path: &str, query: &str, now: i64) -> Result<(), Denied> {
        let mut date = None;
        let mut expires = None;
        let mut signature = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "X-Amz-Date" => date = Some(value.into_owned()),
                "X-Amz-Expires" => expires = Some(value.into_owned()),
                "X-Amz-Signature" => signature = Some(value.into_owned()),
                _ => {}
            }
        }
        let (Some(date), Some(expires), Some(signature)) = (date, expires, signature) else {
            return Err(Denied::MissingQuery);
        };
        if self.signature(path, &date, &expires) != signature {
            return Err(Denied::BadSignature);
        }
        let signed_at = clock::parse_amz(&date).ok_or(Denied::BadSignature)?;
        let lifetime: i64 = expires.parse().map_err(|_| Denied::BadSignature)?;
        if now >= signed_at.saturating_add(lifetime) {
            return Err(Denied::Expired);
        }
        Ok(())
    }
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response();
    allow_any_origin(&mut response);
    response
}

fn allow_any_origin(response: &mut Response) {
    // The page shows results with <img> and may fetch() their bytes to download or copy.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The answer for a result URL: the image, or S3's refusal.
pub fn respond(signer: &Signer, path: &str, query: &str, asset: Option<&StoredAsset>) -> Response {
    match signer.verify(path, query, clock::unix_seconds_now()) {
        Err(Denied::Expired) => {
            return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
        }
        Err(Denied::BadSignature) => {
            return s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
        Err(Denied::MissingQuery) => {
            return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied");
        }
        Ok(()) => {}
    }
    let Some(asset) = asset else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, asset.kind.mime()),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        asset.bytes.clone(),
    )
        .into_response();
    allow_any_origin(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_of(url: &str) -> &str {
        url.split_once('?').unwrap().1
    }

    #[test]
    fn a_signed_url_is_valid_until_it_expires() {
        let signer = Signer::new_random();
        let now = Utc::from_unix_millis(1_764_871_829_882);
        let url = signer.url(
            "http://127.0.0.1:1",
            "images/a.png",
            &now,
            Duration::from_secs(60),
        );
        assert!(url.starts_with("http://127.0.0.1:1/__results/images/a.png?"));
        assert!(url.contains("X-Amz-Date=20251204T181029Z&X-Amz-Expires=60&"));
        let query = query_of(&url);
        assert_eq!(signer.verify("images/a.png", query, 1_764_871_829), Ok(()));
        assert_eq!(
            signer.verify("images/a.png", query, 1_764_871_889),
            Err(Denied::Expired)
        );
        assert_eq!(
            signer.verify("images/b.png", query, 1_764_871_829),
            Err(Denied::BadSignature)
        );
        let stretched = query.replace("X-Amz-Expires=60", "X-Amz-Expires=6000");
        assert_eq!(
            signer.verify("images/a.png", &stretched, 1_764_871_889),
            Err(Denied::BadSignature)
        );
        assert_eq!(
            Signer::new_random().verify("images/a.png", query, 1_764_871_829),
            Err(Denied::BadSignature)
        );
        assert_eq!(
            signer.verify("images/a.png", "", 0),
            Err(Denied::MissingQuery)
        );
    }
}
