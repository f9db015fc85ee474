//! Result files. [`BlobStore`] is what the handlers and the sweeper use (an S3-compatible store can be
//! added beside [`DiskBlobs`]); [`DiskBlobs`] keeps each result as a file in a local folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::store::BoxFuture;

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

/// Blobs as files in one folder. Writes go to a temporary file that is renamed into place.
#[derive(Debug, Clone)]
pub struct DiskBlobs {
    dir: PathBuf,
}

impl DiskBlobs {
    /// Uses (and creates) `dir`.
    pub fn open(dir: &Path) -> Result<DiskBlobs, BlobError> {
        std::fs::create_dir_all(dir)?;
        Ok(DiskBlobs {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, name: &str) -> Result<PathBuf, BlobError> {
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_');
        if ok {
            Ok(self.dir.join(name))
        } else {
            Err(BlobError::InvalidName(name.to_string()))
        }
    }

    fn blocking<T, F>(&self, f: F) -> BoxFuture<'_, Result<T, BlobError>>
    where
        T: Send + 'static,
        F: FnOnce(&DiskBlobs) -> Result<T, BlobError> + Send + 'static,
    {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&this))
                .await
                .map_err(|e| BlobError::Task(e.to_string()))?
        })
    }

    fn put_sync(&self, name: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path(name)?;
        let tmp = self.dir.join(format!(".tmp-{name}"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    fn list_sync(&self) -> Result<Vec<BlobInfo>, BlobError> {
        let now = SystemTime::now();
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = match entry.metadata() {
                Ok(m) if m.is_file() => m,
                _ => continue,
            };
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            // Temporary files of interrupted writes are listed too, under their own names, so that
            // the sweeper removes them once old.
            out.push(BlobInfo { name, age });
        }
        Ok(out)
    }
}

impl BlobStore for DiskBlobs {
    fn put(&self, name: String, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), BlobError>> {
        self.blocking(move |b| b.put_sync(&name, &bytes))
    }

    fn get(&self, name: String) -> BoxFuture<'_, Result<Option<Vec<u8>>, BlobError>> {
        self.blocking(move |b| match std::fs::read(b.path(&name)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        })
    }

    fn delete(&self, name: String) -> BoxFuture<'_, Result<(), BlobError>> {
        self.blocking(move |b| {
            let path = if name.starts_with(".tmp-") {
                b.dir.join(&name)
            } else {
                b.path(&name)?
            };
            match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<BlobInfo>, BlobError>> {
        self.blocking(|b| b.list_sync())
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), BlobError>> {
        self.blocking(|b| {
            let meta = std::fs::metadata(&b.dir)?;
            if meta.permissions().readonly() {
                return Err(BlobError::Io(std::io::Error::other(
                    "results folder is read-only",
                )));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let b = DiskBlobs::open(&dir.path().join("r")).unwrap();
        b.put("abc.jpeg".into(), vec![1, 2, 3]).await.unwrap();
        assert_eq!(b.get("abc.jpeg".into()).await.unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(b.get("nope.jpeg".into()).await.unwrap(), None);
        let list = b.list().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "abc.jpeg");
        b.delete("abc.jpeg".into()).await.unwrap();
        b.delete("abc.jpeg".into()).await.unwrap();
        assert!(b.list().await.unwrap().is_empty());
        assert!(b.get("../etc/passwd".into()).await.is_err());
        b.ping().await.unwrap();
    }
}
