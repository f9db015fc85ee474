//! [`DiskBlobs`]: each result a file in one local folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{check_name, BlobError, BlobInfo, BlobStore};
use crate::store::BoxFuture;

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
        Ok(self.dir.join(check_name(name)?))
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
    use crate::blobs::suite::blob_suite;

    async fn open() -> Option<(Box<dyn std::any::Any + Send>, Box<dyn BlobStore>)> {
        let dir = tempfile::tempdir().unwrap();
        let b = DiskBlobs::open(&dir.path().join("r")).unwrap();
        Some((Box::new(dir), Box::new(b)))
    }

    blob_suite!(open);
}
