//! Prometheus metrics, written in the text exposition format by hand: responses by API code, latency
//! histograms per stage, queue depth, busy workers, credits spent and refunded.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ALL_CODES;

/// Histogram bucket bounds in seconds.
const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The stages of a fusion request that are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Downloading or base64-decoding both photos.
    Fetch,
    /// Waiting for a free worker.
    QueueWait,
    /// Decoding both photos to pixels.
    Decode,
    /// The content filter on both photos.
    Moderate,
    /// Face detection and mesh on both photos.
    Detect,
    /// The face parser on the two chosen faces.
    Parse,
    /// Warping and blending.
    Fuse,
    /// Encoding the result.
    Encode,
    /// Writing the result to blob storage.
    Store,
    /// The whole `POST /v1/faceswap` request.
    Total,
}

const STAGES: [Stage; 10] = [
    Stage::Fetch,
    Stage::QueueWait,
    Stage::Decode,
    Stage::Moderate,
    Stage::Detect,
    Stage::Parse,
    Stage::Fuse,
    Stage::Encode,
    Stage::Store,
    Stage::Total,
];

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Fetch => "fetch",
            Stage::QueueWait => "queue_wait",
            Stage::Decode => "decode",
            Stage::Moderate => "moderate",
            Stage::Detect => "detect",
            Stage::Parse => "parse",
            Stage::Fuse => "fuse",
            Stage::Encode => "encode",
            Stage::Store => "store",
            Stage::Total => "total",
        }
    }

    fn index(self) -> usize {
        STAGES.iter().position(|&s| s == self).unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (b, bound) in self.buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// All metrics of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    responses: [AtomicU64; ALL_CODES.len()],
    stages: [Histogram; STAGES.len()],
    queue_depth: AtomicI64,
    busy_workers: AtomicI64,
    credits_spent: AtomicU64,
    credits_refunded: AtomicU64,
    results_swept: AtomicU64,
    photo_cache_hits: AtomicU64,
    photo_cache_misses: AtomicU64,
    photo_cache_bytes: AtomicI64,
}

impl Metrics {
    /// Counts a response of `POST /v1/faceswap` (or the other API routes) with this API code.
    pub fn response(&self, code: &str) {
        if let Some(i) = ALL_CODES.iter().position(|&c| c == code) {
            self.responses[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records how long a stage took.
    pub fn stage(&self, stage: Stage, d: Duration) {
        self.stages[stage.index()].observe(d);
    }

    /// A job entered (+1) or left (-1) the worker queue.
    pub fn queue(&self, delta: i64) {
        self.queue_depth.fetch_add(delta, Ordering::Relaxed);
    }

    /// A worker started (+1) or finished (-1) a job.
    pub fn busy(&self, delta: i64) {
        self.busy_workers.fetch_add(delta, Ordering::Relaxed);
    }

    /// A credit was spent.
    pub fn credit_spent(&self) {
        self.credits_spent.fetch_add(1, Ordering::Relaxed);
    }

    /// A reserved credit was given back.
    pub fn credit_refunded(&self) {
        self.credits_refunded.fetch_add(1, Ordering::Relaxed);
    }

    /// Results deleted by the sweeper.
    pub fn swept(&self, n: u64) {
        self.results_swept.fetch_add(n, Ordering::Relaxed);
    }

    /// A photo was looked up in the photo cache: found (`hit`) or not.
    pub fn photo_cache(&self, hit: bool) {
        let counter = if hit {
            &self.photo_cache_hits
        } else {
            &self.photo_cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The photo cache now holds this many bytes.
    pub fn photo_cache_bytes(&self, bytes: i64) {
        self.photo_cache_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Current queue depth.
    pub fn queue_depth(&self) -> i64 {
        self.queue_depth.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP faceswap_responses_total API responses by code."
        )?;
        writeln!(out, "# TYPE faceswap_responses_total counter")?;
        for (code, n) in ALL_CODES.iter().zip(&self.responses) {
            writeln!(
                out,
                "faceswap_responses_total{{code=\"{code}\"}} {}",
                n.load(Ordering::Relaxed)
            )?;
        }
        writeln!(
            out,
            "# HELP faceswap_stage_seconds Time spent per stage of a fusion request."
        )?;
        writeln!(out, "# TYPE faceswap_stage_seconds histogram")?;
        for (stage, h) in STAGES.iter().zip(&self.stages) {
            let name = stage.name();
            for (b, bound) in h.buckets.iter().zip(BUCKETS) {
                writeln!(
                    out,
                    "faceswap_stage_seconds_bucket{{stage=\"{name}\",le=\"{bound}\"}} {}",
                    b.load(Ordering::Relaxed)
                )?;
            }
            let count = h.count.load(Ordering::Relaxed);
            writeln!(
                out,
                "faceswap_stage_seconds_bucket{{stage=\"{name}\",le=\"+Inf\"}} {count}"
            )?;
            writeln!(
                out,
                "faceswap_stage_seconds_sum{{stage=\"{name}\"}} {}",
                h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            )?;
            writeln!(
                out,
                "faceswap_stage_seconds_count{{stage=\"{name}\"}} {count}"
            )?;
        }
        let gauges = [
            (
                "faceswap_queue_depth",
                "Fusion jobs waiting for a worker.",
                self.queue_depth.load(Ordering::Relaxed),
            ),
            (
                "faceswap_busy_workers",
                "Workers running a fusion.",
                self.busy_workers.load(Ordering::Relaxed),
            ),
            (
                "faceswap_photo_cache_bytes",
                "Bytes held by the cache of decoded and analysed photos.",
                self.photo_cache_bytes.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in gauges {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} gauge")?;
            writeln!(out, "{name} {v}")?;
        }
        let counters = [
            (
                "faceswap_credits_spent_total",
                "Credits spent on successful fusions.",
                &self.credits_spent,
            ),
            (
                "faceswap_credits_refunded_total",
                "Reserved credits given back after a failure.",
                &self.credits_refunded,
            ),
            (
                "faceswap_results_swept_total",
                "Results and task records deleted past retention.",
                &self.results_swept,
            ),
            (
                "faceswap_photo_cache_hits_total",
                "Photos found in the photo cache (no decoding, no face models).",
                &self.photo_cache_hits,
            ),
            (
                "faceswap_photo_cache_misses_total",
                "Photos not in the photo cache.",
                &self.photo_cache_misses,
            ),
        ];
        for (name, help, v) in counters {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} counter")?;
            writeln!(out, "{name} {}", v.load(Ordering::Relaxed))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.response("success");
        m.response("success");
        m.response("forbidden");
        m.stage(Stage::Fuse, Duration::from_millis(30));
        m.queue(1);
        m.credit_spent();
        let text = m.render();
        assert!(text.contains("faceswap_responses_total{code=\"success\"} 2"));
        assert!(text.contains("faceswap_responses_total{code=\"forbidden\"} 1"));
        assert!(text.contains("faceswap_stage_seconds_bucket{stage=\"fuse\",le=\"0.025\"} 0"));
        assert!(text.contains("faceswap_stage_seconds_bucket{stage=\"fuse\",le=\"0.05\"} 1"));
        assert!(text.contains("faceswap_stage_seconds_count{stage=\"fuse\"} 1"));
        assert!(text.contains("faceswap_queue_depth 1"));
        assert!(text.contains("faceswap_credits_spent_total 1"));
    }
}
