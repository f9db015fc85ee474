//! A content-addressed cache of what the workers learn about a photo: its decoded pixels, its faces
//! and meshes, the parses of the faces a fusion used, and the content filter's verdict. A service's
//! templates are a catalogue that repeats, so a repeated photo costs neither decoding nor models.
//!
//! Keyed by the SHA-256 of the photo's bytes and its role (A and B have their own limits), shared by
//! all workers, bounded by bytes and evicting the least recently used. Verdicts are stored with the
//! fingerprint of the filter's configuration that gave them, and only a verdict of the same
//! configuration is ever reused.

use std::sync::{Arc, Mutex};

use faceswap_engine::{decode, Analysis, EngineError, PhotoLimits, RgbImage, Role};
use faceswap_moderation::Verdict;
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::metrics::Metrics;

/// What identifies a photo: its bytes' SHA-256 and its role.
type Key = ([u8; 32], Role);

/// What is kept of one photo.
#[derive(Clone)]
struct Entry {
    image: Arc<RgbImage>,
    analysis: Analysis,
    verdict: Option<(u64, Verdict)>,
}

impl Entry {
    fn bytes(&self) -> usize {
        // The fixed part: key, entry and the list's own node, about.
        256 + self.image.as_raw().len() + self.analysis.heap_bytes()
    }
}

struct State {
    entries: LruCache<Key, Entry>,
    bytes: usize,
}

/// The cache. With a budget of 0 it keeps nothing (every photo is a miss).
pub struct PhotoCache {
    budget: usize,
    state: Mutex<State>,
    metrics: Arc<Metrics>,
}

/// A photo ready for a fusion: decoded, with what is known of it. Handed back by
/// [`PhotoCache::keep`] once the fusion has completed its analysis.
pub struct Prepared {
    key: Key,
    /// The pixels.
    pub image: Arc<RgbImage>,
    /// Faces, meshes and parses known so far; the fusion completes it.
    pub analysis: Analysis,
    verdict: Option<(u64, Verdict)>,
    /// Whether it came from the cache.
    pub hit: bool,
}

impl Prepared {
    /// The filter's verdict, if one was given under the configuration with this fingerprint.
    pub fn verdict(&self, fingerprint: u64) -> Option<Verdict> {
        self.verdict
            .as_ref()
            .filter(|(f, _)| *f == fingerprint)
            .map(|(_, v)| v.clone())
    }

    /// Records the filter's verdict under the configuration with this fingerprint.
    pub fn set_verdict(&mut self, fingerprint: u64, verdict: Verdict) {
        self.verdict = Some((fingerprint, verdict));
    }
}

impl PhotoCache {
    /// A cache holding at most `budget` bytes.
    pub fn new(budget: usize, metrics: Arc<Metrics>) -> PhotoCache {
        PhotoCache {
            budget,
            state: Mutex::new(State {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
            metrics,
        }
    }

    /// The photo `bytes` as `role`: from the cache, or decoded within `limits`.
    pub fn prepare(
        &self,
        bytes: &[u8],
        role: Role,
        limits: &PhotoLimits,
    ) -> Result<Prepared, EngineError> {
        let key = (Sha256::digest(bytes).into(), role);
        let cached = self.lock().entries.get(&key).cloned();
        self.metrics.photo_cache(cached.is_some());
        let hit = cached.is_some();
        let entry = match cached {
            Some(entry) => entry,
            None => Entry {
                image: Arc::new(decode(bytes, role, limits)?),
                analysis: Analysis::default(),
                verdict: None,
            },
        };
        Ok(Prepared {
            key,
            image: entry.image,
            analysis: entry.analysis,
            verdict: entry.verdict,
            hit,
        })
    }

    /// Keeps what is now known of a prepared photo, evicting the least recently used photos while
    /// over budget. A photo larger than the whole budget is not kept.
    pub fn keep(&self, prepared: Prepared) {
        let entry = Entry {
            image: prepared.image,
            analysis: prepared.analysis,
            verdict: prepared.verdict,
        };
        let size = entry.bytes();
        let mut state = self.lock();
        if let Some(old) = state.entries.pop(&prepared.key) {
            state.bytes -= old.bytes();
        }
        if size <= self.budget {
            state.entries.put(prepared.key, entry);
            state.bytes += size;
        }
        while state.bytes > self.budget {
            match state.entries.pop_lru() {
                Some((_, old)) => state.bytes -= old.bytes(),
                None => break,
            }
        }
        self.metrics.photo_cache_bytes(state.bytes as i64);
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Photos held now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, shade: u8) -> Vec<u8> {
        let img = RgbImage::from_pixel(w, h, image::Rgb([shade, 100, 50]));
        faceswap_engine::encode(&img, faceswap_engine::OutputFormat::Png).unwrap()
    }

    #[test]
    fn a_repeated_photo_is_a_hit_and_keeps_its_verdict_per_configuration() {
        let metrics = Arc::new(Metrics::default());
        let cache = PhotoCache::new(1 << 20, metrics.clone());
        let photo = png(40, 30, 7);
        let mut first = cache
            .prepare(&photo, Role::Template, &PhotoLimits::LOCAL)
            .unwrap();
        assert!(!first.hit);
        first.set_verdict(1, Verdict::Clean);
        cache.keep(first);
        let again = cache
            .prepare(&photo, Role::Template, &PhotoLimits::LOCAL)
            .unwrap();
        assert!(again.hit);
        assert_eq!(again.image.dimensions(), (40, 30));
        assert_eq!(again.verdict(1), Some(Verdict::Clean));
        // Another filter configuration never sees this verdict.
        assert_eq!(again.verdict(2), None);
        // The same bytes as the other photo of a request are another entry (other limits).
        let as_image = cache
            .prepare(&photo, Role::Image, &PhotoLimits::LOCAL)
            .unwrap();
        assert!(!as_image.hit);
        // Another photo is a miss.
        assert!(
            !cache
                .prepare(&png(40, 30, 8), Role::Template, &PhotoLimits::LOCAL)
                .unwrap()
                .hit
        );
        let text = metrics.render();
        assert!(text.contains("faceswap_photo_cache_hits_total 1"), "{text}");
        assert!(
            text.contains("faceswap_photo_cache_misses_total 3"),
            "{text}"
        );
    }

    #[test]
    fn stays_within_its_budget_evicting_the_least_recently_used() {
        let per_photo = 256 + 100 * 100 * 3;
        let cache = PhotoCache::new(2 * per_photo, Arc::new(Metrics::default()));
        let photos: Vec<Vec<u8>> = (0..3).map(|i| png(100, 100, i)).collect();
        let prepare = |p: &Vec<u8>| {
            cache
                .prepare(p, Role::Template, &PhotoLimits::LOCAL)
                .unwrap()
        };
        cache.keep(prepare(&photos[0]));
        cache.keep(prepare(&photos[1]));
        // Used again: 1 is now the least recently used.
        assert!(prepare(&photos[0]).hit);
        cache.keep(prepare(&photos[2]));
        assert_eq!(cache.len(), 2);
        assert!(cache.bytes() <= 2 * per_photo);
        assert!(prepare(&photos[0]).hit);
        assert!(!prepare(&photos[1]).hit);
        assert!(prepare(&photos[2]).hit);
        // A photo over the whole budget is not kept, and nothing else is lost for it.
        let big = png(300, 300, 9);
        cache.keep(prepare(&big));
        assert!(!prepare(&big).hit);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_budget_of_zero_keeps_nothing() {
        let cache = PhotoCache::new(0, Arc::new(Metrics::default()));
        let photo = png(10, 10, 1);
        let p = cache
            .prepare(&photo, Role::Image, &PhotoLimits::LOCAL)
            .unwrap();
        cache.keep(p);
        assert!(cache.is_empty());
        assert!(
            !cache
                .prepare(&photo, Role::Image, &PhotoLimits::LOCAL)
                .unwrap()
                .hit
        );
    }

    #[test]
    fn a_bad_photo_is_an_error_not_an_entry() {
        let cache = PhotoCache::new(1 << 20, Arc::new(Metrics::default()));
        let err = cache
            .prepare(b"not a photo", Role::Image, &PhotoLimits::LOCAL)
            .err()
            .expect("undecodable");
        assert!(matches!(err, EngineError::Decode { .. }));
        assert!(cache.is_empty());
    }
}
