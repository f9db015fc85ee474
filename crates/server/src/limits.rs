//! Per-key rate limits: GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp
//! per key) with a burst of one, so a key at one request per second gets at most one request in any
//! second. State is in memory, per server process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits requests per key.
#[derive(Debug)]
pub struct RateLimiter {
    /// Key id → theoretical arrival time of its next allowed request.
    next: Mutex<HashMap<String, Instant>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new()
    }
}

impl RateLimiter {
    /// An empty limiter.
    pub fn new() -> RateLimiter {
        RateLimiter {
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key_id` may make a request now at `per_second` requests per second (0 or less, or
    /// not finite: unlimited). An allowed request counts; a refused one does not.
    pub fn check(&self, key_id: &str, per_second: f64) -> bool {
        self.check_at(key_id, per_second, Instant::now())
    }

    /// [`RateLimiter::check`] at a given instant (for tests).
    pub fn check_at(&self, key_id: &str, per_second: f64, now: Instant) -> bool {
        if !per_second.is_finite() || per_second <= 0.0 {
            return true;
        }
        let interval = Duration::from_secs_f64((1.0 / per_second).min(1e9));
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let tat = next.get(key_id).copied().unwrap_or(now);
        if now < tat {
            return false;
        }
        next.insert(key_id.to_string(), now.max(tat) + interval);
        // Keep the map small: forget keys whose next slot is long past.
        if next.len() > 10_000 {
            next.retain(|_, t| *t > now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_second() {
        let l = RateLimiter::new();
        let t0 = Instant::now();
        assert!(l.check_at("a", 1.0, t0));
        assert!(!l.check_at("a", 1.0, t0 + Duration::from_millis(500)));
        assert!(!l.check_at("a", 1.0, t0 + Duration::from_millis(999)));
        assert!(l.check_at("a", 1.0, t0 + Duration::from_millis(1000)));
        // Other keys are independent.
        assert!(l.check_at("b", 1.0, t0 + Duration::from_millis(1000)));
        // Refused requests do not push the next slot further.
        assert!(!l.check_at("a", 1.0, t0 + Duration::from_millis(1500)));
        assert!(l.check_at("a", 1.0, t0 + Duration::from_millis(2000)));
    }

    #[test]
    fn idle_keys_do_not_bank_requests() {
        let l = RateLimiter::new();
        let t0 = Instant::now();
        assert!(l.check_at("a", 2.0, t0));
        let later = t0 + Duration::from_secs(60);
        assert!(l.check_at("a", 2.0, later));
        assert!(!l.check_at("a", 2.0, later + Duration::from_millis(100)));
        assert!(l.check_at("a", 2.0, later + Duration::from_millis(500)));
    }

    #[test]
    fn zero_means_unlimited() {
        let l = RateLimiter::new();
        let t0 = Instant::now();
        assert!((0..1000).all(|_| l.check_at("a", 0.0, t0)));
        assert!((0..100).all(|i| l.check_at("b", 1000.0, t0 + Duration::from_millis(i))));
    }
}
