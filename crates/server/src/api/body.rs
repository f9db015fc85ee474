//! Request bodies: read within a body slot and the body timeout, bounded in size, or drained.

use super::*;

/// Why a request body was not read.
#[derive(Debug, PartialEq)]
pub(super) enum BodyError {
    /// Over the limit.
    TooLarge,
    /// The connection broke.
    Broken,
}

/// Reads a request body in one of the body slots (the key's share is freed for its next body once
/// read; the slot itself is held by the request until it drops it), within the body timeout (a
/// body not read by then is [`BodyError::Broken`]).
pub(super) async fn read_in_slot(
    state: &AppState,
    key_id: &str,
    peer: Option<std::net::IpAddr>,
    body: Body,
) -> Result<(crate::slots::BodySlot, Result<Bytes, BodyError>), crate::slots::SlotRefused> {
    let mut slot = state
        .body_slots
        .acquire(key_id, peer, state.config.body_timeout)
        .await?;
    let read = tokio::time::timeout(
        state.config.body_timeout,
        read_body(body, state.config.max_body_bytes),
    )
    .await;
    slot.body_read();
    Ok((slot, read.unwrap_or(Err(BodyError::Broken))))
}

/// Reads a body of at most `limit` bytes. A longer one is still read to its end (and discarded) up
/// to twice the limit, so that a client that keeps sending receives the size error instead of a
/// connection closed under its upload; beyond that the connection is given up.
pub(super) async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body_util::BodyExt;
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Broken)?.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= limit {
            kept.extend_from_slice(&data);
        } else if total > limit.saturating_mul(2) {
            return Err(BodyError::TooLarge);
        } else {
            kept = Vec::new();
        }
    }
    if total > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(kept))
}

/// Reads a body to its end, keeping nothing, up to `max` bytes.
pub(super) async fn drain_body(mut body: Body, max: usize) {
    use http_body_util::BodyExt;
    let mut total = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            total = total.saturating_add(data.len());
            if total > max {
                return;
            }
        }
    }
}
