//! Result files. [`BlobStore`] is what the handlers and the sweeper use, with two implementations:
//! [`DiskBlobs`] keeps each result as a file in a local folder (the default), [`S3Blobs`] as an
//! object in an S3-compatible bucket shared by replicas.

use std::time::Duration;

use crate::store::BoxFuture;

mod disk;
mod s3;
#[cfg(test)]
mod suite;

pub use disk::DiskBlobs;
pub use s3::{S3Blobs, S3Settings};

/// Errors of the blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The name is not one this store accepts.
    #[error("invalid blob name {0:?}")]
    InvalidName(String),
    /// Reading or writing failed.
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
    /// The blocking task was lost.
    #[error("blob task failed: {0}")]
    Task(String),
    /// The object store failed.
    #[error("object storage: {0}")]
    Remote(#[from] object_store::Error),
}

/// One stored blob in a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobInfo {
    /// Its name, e.g. `TASK_ID.jpeg`.
    pub name: String,
    /// How long ago it was written.
    pub age: Duration,
}

/// Where result files live.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `name`, replacing any blob of that name; visible whole or not at all.
    fn put(&self, name: String, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), BlobError>>;
    /// The blob, or `None` if there is none of that name.
    fn get(&self, name: String) -> BoxFuture<'_, Result<Option<Vec<u8>>, BlobError>>;
    /// Deletes the blob; deleting a missing blob is not an error.
    fn delete(&self, name: String) -> BoxFuture<'_, Result<(), BlobError>>;
    /// Every blob with its age.
    fn list(&self) -> BoxFuture<'_, Result<Vec<BlobInfo>, BlobError>>;
    /// Whether the storage is reachable and writable.
    fn ping(&self) -> BoxFuture<'_, Result<(), BlobError>>;
}

/// Whether `name` is one a blob may have: letters, digits, `-`, `_` and `.`, not starting with a
/// dot (so no paths, and no hidden or temporary files).
pub(crate) fn check_name(name: &str) -> Result<&str, BlobError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_');
    if ok {
        Ok(name)
    } else {
        Err(BlobError::InvalidName(name.to_string()))
    }
}
