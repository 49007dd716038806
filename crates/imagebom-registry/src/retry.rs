//! The one retry policy of every request (registries, token endpoints, chart repositories).

use crate::error::{ErrorCode, ErrorKind, RegistryError};
use std::time::Duration;

/// When and how long to wait before asking again.
///
/// Retried: transport failures (connect, reset, the deadline, a body cut short), 408, 429,
/// 5xx, and an error body saying `TOOMANYREQUESTS` or `UNAVAILABLE` whatever its status —
/// the answers that can differ next time. Never retried: any other 4xx (not found, denied:
/// asking again gets the same answer), a digest mismatch (a body that arrived whole and
/// hashes wrong is the server's content, not a transient fault: refetching would hide a
/// lying registry), a body over its limit, an invalid answer, a plain-HTTP token realm.
///
/// The delay before retry `n` (0-based) is `backoff × 2^n` capped at `max_delay`, then
/// jittered to a random point in its upper half (so clients started together spread out
/// without waiting less than half the backoff); a `Retry-After` the server sent (seconds,
/// capped at `max_retry_after`) replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// First delay.
    pub backoff: Duration,
    /// Largest computed delay.
    pub max_delay: Duration,
    /// Largest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 4,
            backoff: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Whether `e` may go away when asked again (see the type's documentation).
    pub(crate) fn is_transient(e: &RegistryError) -> bool {
        match &e.kind {
            ErrorKind::Network { .. } => true,
            ErrorKind::Http { status, codes, .. } => {
                matches!(status, 408 | 429 | 500..=599)
                    || codes
                        .iter()
                        .any(|c| matches!(c, ErrorCode::TooManyRequests | ErrorCode::Unavailable))
            }
            _ => false,
        }
    }

    /// The delay before retry `attempt` (0-based) after `e`.
    pub fn delay(&self, attempt: u32, e: &RegistryError) -> Duration {
        if let ErrorKind::Http {
            retry_after: Some(after),
            ..
        } = &e.kind
        {
            return (*after).min(self.max_retry_after);
        }
        let full = self
            .backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        full.mul_f64(0.5 + jitter() / 2.0)
    }

    /// Runs `op` until it succeeds, fails for good, or the retries are spent.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RegistryError>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Err(e) if attempt < self.retries && RetryPolicy::is_transient(&e) => {
                    let delay = self.delay(attempt, &e);
                    tracing::debug!(reference = %e.reference, attempt, ?delay, error = %e.kind, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                done => return done,
            }
        }
    }
}

/// A number in [0, 1) that differs between calls (the clock's nanoseconds mixed with a
/// counter): enough to spread retries, not a secret.
fn jitter() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| u64::from(t.subsec_nanos()))
        .unwrap_or(0);
    let mut x = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % 1_000_000) as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after: Option<Duration>) -> RegistryError {
        RegistryError::new(
            "r",
            ErrorKind::Http {
                status,
                codes: vec![],
                retry_after,
            },
        )
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            backoff: Duration::from_millis(100),
            ..RetryPolicy::default()
        };
        for attempt in 0..20 {
            let d = p.delay(attempt, &http(503, None));
            let full = p
                .backoff
                .saturating_mul(1 << attempt.min(16))
                .min(Duration::from_secs(10));
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
        let asked = p.delay(0, &http(429, Some(Duration::from_secs(3))));
        assert_eq!(asked, Duration::from_secs(3));
        let capped = p.delay(0, &http(429, Some(Duration::from_secs(3600))));
        assert_eq!(capped, Duration::from_secs(60));
    }

    #[test]
    fn what_is_transient() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(RetryPolicy::is_transient(&http(s, None)), "{s}");
        }
        for s in [400, 405, 409, 410, 418] {
            assert!(!RetryPolicy::is_transient(&http(s, None)), "{s}");
        }
        let busy = RegistryError::new(
            "r",
            ErrorKind::Http {
                status: 400,
                codes: vec![ErrorCode::TooManyRequests],
                retry_after: None,
            },
        );
        assert!(RetryPolicy::is_transient(&busy));
        let mismatch = RegistryError::new(
            "r",
            ErrorKind::DigestMismatch {
                expected: "a".into(),
                actual: "b".into(),
                detail: "x".into(),
            },
        );
        assert!(!RetryPolicy::is_transient(&mismatch));
        let gone = RegistryError::new("r", ErrorKind::NotFound { codes: vec![] });
        assert!(!RetryPolicy::is_transient(&gone));
    }
}
