//! Body slots: how many request bodies are read and held at once, in all, per key and per client
//! address.
//!
//! A body is read only while its request holds a slot, so memory stays bounded under a flood of
//! large bodies. One key may hold only a share of the slots: a client trickling many bodies with
//! one key (a slow-loris) cannot make another key's request wait. One address may hold only a
//! larger share, so that a client trickling with many keys cannot either. A request beyond its
//! share waits for one of its own slots (a burst of quick requests goes through), for a bounded
//! time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Each key's share of something bounded: one semaphore of `share` permits per key (or per client
/// address), made on first use; once there are many, those that nobody holds are forgotten.
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
        if keys.len() >= FORGET_FROM && !keys.contains_key(key) {
            // A held permit keeps its semaphore alive: one only the map holds is all free.
            keys.retain(|_, s| Arc::strong_count(s) > 1);
        }
        keys.entry(key.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.share)))
            .clone()
    }
}

/// Number of keys or addresses from which the shares nobody holds are forgotten.
const FORGET_FROM: usize = 4096;

/// The shared slots, each key's share and each client address's.
pub struct BodySlots {
    all: Arc<Semaphore>,
    keys: KeyShares,
    /// `None`: no per-address share (behind a proxy).
    addresses: Option<KeyShares>,
}

/// A held slot; released when dropped. The key's share is given back as soon as the body has been
/// read ([`BodySlot::body_read`]): it bounds slow bodies, not work.
pub struct BodySlot {
    key: Option<OwnedSemaphorePermit>,
    address: Option<OwnedSemaphorePermit>,
    _all: OwnedSemaphorePermit,
}

impl BodySlot {
    /// The body is read: the key's and the address's shares are free for their next body.
    pub fn body_read(&mut self) {
        self.key = None;
        self.address = None;
    }
}

/// Why no slot was given.
#[derive(Debug, PartialEq, Eq)]
pub enum SlotRefused {
    /// The key (or the client's address) held its whole share for as long as the request could
    /// wait.
    KeyBusy,
    /// The slots are closed (the server is stopping).
    Closed,
}

impl BodySlots {
    /// `total` slots, of which one key may hold a quarter, and one client address a half (at
    /// least one) when `per_address`.
    pub fn new(total: usize, per_address: bool) -> BodySlots {
        BodySlots {
            all: Arc::new(Semaphore::new(total)),
            keys: KeyShares::new(total / 4),
            addresses: per_address.then(|| KeyShares::new(total / 2)),
        }
    }

    /// How many slots one key may hold.
    pub fn per_key(&self) -> usize {
        self.keys.share()
    }

    /// How many slots one client address may hold (`None`: no limit of its own).
    pub fn per_address(&self) -> Option<usize> {
        self.addresses.as_ref().map(KeyShares::share)
    }

    /// A slot for `key` asked from `address`: waits at most `wait` in all for one of the key's
    /// share and one of the address's, then for one of the shared slots.
    pub async fn acquire(
        &self,
        key: &str,
        address: Option<IpAddr>,
        wait: Duration,
    ) -> Result<BodySlot, SlotRefused> {
        let deadline = tokio::time::Instant::now() + wait;
        let share = |shares: &KeyShares, of: &str| {
            let semaphore = shares.of(of);
            async move {
                match tokio::time::timeout_at(deadline, semaphore.acquire_owned()).await {
                    Ok(Ok(permit)) => Ok(permit),
                    Ok(Err(_)) => Err(SlotRefused::Closed),
                    Err(_) => Err(SlotRefused::KeyBusy),
                }
            }
        };
        let key_permit = share(&self.keys, key).await?;
        let address_permit = match (address, &self.addresses) {
            (Some(a), Some(addresses)) => Some(share(addresses, &a.to_string()).await?),
            _ => None,
        };
        let all = self
            .all
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SlotRefused::Closed)?;
        Ok(BodySlot {
            key: Some(key_permit),
            address: address_permit,
            _all: all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_key_holds_at_most_its_share_and_others_still_get_slots() {
        let slots = BodySlots::new(8, true);
        assert_eq!(slots.per_key(), 2);
        let wait = Duration::from_millis(50);
        let a1 = slots.acquire("a", None, wait).await.unwrap();
        let _a2 = slots.acquire("a", None, wait).await.unwrap();
        assert_eq!(
            slots.acquire("a", None, wait).await.err(),
            Some(SlotRefused::KeyBusy)
        );
        let _b = slots.acquire("b", None, wait).await.unwrap();
        let mut a1 = a1;
        a1.body_read();
        assert!(
            slots.acquire("a", None, wait).await.is_ok(),
            "a slot whose body is read is the key's again"
        );
    }

    #[tokio::test]
    async fn one_address_holds_at_most_its_share_whatever_keys_it_uses() {
        let slots = BodySlots::new(8, true);
        assert_eq!(slots.per_address(), Some(4));
        let wait = Duration::from_millis(50);
        let (one, two): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "::1".parse().unwrap());
        let mut held = Vec::new();
        for k in 0..4 {
            held.push(
                slots
                    .acquire(&format!("k{k}"), Some(one), wait)
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(
            slots.acquire("k9", Some(one), wait).await.err(),
            Some(SlotRefused::KeyBusy)
        );
        let _other = slots.acquire("k9", Some(two), wait).await.unwrap();
        held[0].body_read();
        assert!(slots.acquire("k9", Some(one), wait).await.is_ok());
        // Behind a proxy every client has its address: only the keys' shares count.
        let proxied = BodySlots::new(8, false);
        assert_eq!(proxied.per_address(), None);
        let mut held = Vec::new();
        for k in 0..6 {
            held.push(
                proxied
                    .acquire(&format!("k{k}"), Some(one), wait)
                    .await
                    .unwrap(),
            );
        }
    }

    #[test]
    fn shares_nobody_holds_are_forgotten_once_there_are_many() {
        let shares = KeyShares::new(1);
        let held = shares.of("held").try_acquire_owned().unwrap();
        for i in 0..FORGET_FROM + 10 {
            shares.of(&format!("10.0.{}.{}", i / 256, i % 256));
        }
        let kept = shares.keys.lock().unwrap().len();
        assert!(kept < FORGET_FROM, "{kept}");
        assert!(
            shares.of("held").try_acquire_owned().is_err(),
            "a held share is kept"
        );
        drop(held);
    }
}
