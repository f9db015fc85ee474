//! Body slots: how many request bodies are read and held at once, in all and per key.
//!
//! A body is read only while its request holds a slot, so memory stays bounded under a flood of
//! large bodies. One key may hold only a share of the slots: a client trickling many bodies with
//! one key (a slow-loris) cannot make another key's request wait. A key's requests beyond its share
//! wait for one of its own slots (a burst of quick requests goes through), for a bounded time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Each key's share of something bounded: one semaphore of `share` permits per key, made on first
/// use (keys are few, created by the operator, so they are not forgotten).
pub struct KeyShares {
    share: usize,
    keys: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl KeyShares {
    /// Shares of `share` permits (at least one).
    pub fn new(share: usize) -> KeyShares {
        KeyShares {
            share: share.max(1),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Permits per key.
    pub fn share(&self) -> usize {
        self.share
    }

    /// `key`'s semaphore.
    pub fn of(&self, key: &str) -> Arc<Semaphore> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.entry(key.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.share)))
            .clone()
    }
}

/// The shared slots and each key's share.
pub struct BodySlots {
    all: Arc<Semaphore>,
    keys: KeyShares,
}

/// A held slot; released when dropped. The key's share is given back as soon as the body has been
/// read ([`BodySlot::body_read`]): it bounds slow bodies, not work.
pub struct BodySlot {
    key: Option<OwnedSemaphorePermit>,
    _all: OwnedSemaphorePermit,
}

impl BodySlot {
    /// The body is read: the key's share is free for its next body.
    pub fn body_read(&mut self) {
        self.key = None;
    }
}

/// Why no slot was given.
#[derive(Debug, PartialEq, Eq)]
pub enum SlotRefused {
    /// The key held its whole share for as long as the request could wait.
    KeyBusy,
    /// The slots are closed (the server is stopping).
    Closed,
}

impl BodySlots {
    /// `total` slots, of which one key may hold a quarter (at least one).
    pub fn new(total: usize) -> BodySlots {
        BodySlots {
            all: Arc::new(Semaphore::new(total)),
            keys: KeyShares::new(total / 4),
        }
    }

    /// How many slots one key may hold.
    pub fn per_key(&self) -> usize {
        self.keys.share()
    }

    /// A slot for `key`: waits at most `wait` for one of the key's share, then for one of the shared
    /// slots.
    pub async fn acquire(&self, key: &str, wait: Duration) -> Result<BodySlot, SlotRefused> {
        let key_permit = match tokio::time::timeout(wait, self.keys.of(key).acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(SlotRefused::Closed),
            Err(_) => return Err(SlotRefused::KeyBusy),
        };
        let all = self
            .all
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SlotRefused::Closed)?;
        Ok(BodySlot {
            key: Some(key_permit),
            _all: all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_key_holds_at_most_its_share_and_others_still_get_slots() {
        let slots = BodySlots::new(8);
        assert_eq!(slots.per_key(), 2);
        let wait = Duration::from_millis(50);
        let a1 = slots.acquire("a", wait).await.unwrap();
        let _a2 = slots.acquire("a", wait).await.unwrap();
        assert_eq!(
            slots.acquire("a", wait).await.err(),
            Some(SlotRefused::KeyBusy)
        );
        let _b = slots.acquire("b", wait).await.unwrap();
        let mut a1 = a1;
        a1.body_read();
        assert!(
            slots.acquire("a", wait).await.is_ok(),
            "a slot whose body is read is the key's again"
        );
    }
}
