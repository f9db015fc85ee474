//! [`S3Blobs`]: each result an object in an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, ...),
//! through the `object_store` crate, so that every replica reads what any replica wrote.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use super::{check_name, BlobError, BlobInfo, BlobStore};
use crate::store::BoxFuture;

/// Where the bucket is and how to sign for it.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The service's URL, e.g. `http://127.0.0.1:8333`; `None`: AWS itself (or `AWS_ENDPOINT`).
    pub endpoint: Option<String>,
    /// The region (`AWS_REGION` when `None`, else `us-east-1`).
    pub region: Option<String>,
    /// Folder of the results in the bucket.
    pub prefix: String,
    /// Access key id and secret; `None`: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub credentials: Option<(String, String)>,
}

/// Blobs as objects under one prefix of a bucket. A put is one `PutObject`: visible whole or not
/// at all, as the trait asks.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    store: Arc<AmazonS3>,
    prefix: Path,
}

impl S3Blobs {
    /// A client for the bucket (nothing is sent until the first request: [`BlobStore::ping`]
    /// tells whether the bucket answers).
    pub fn open(s: &S3Settings) -> Result<S3Blobs, BlobError> {
        if s.prefix.trim_matches('/').is_empty() {
            // The sweeper deletes what it does not know under the prefix: never the whole bucket.
            return Err(BlobError::InvalidName(
                "an empty prefix (results need a folder of their own in the bucket)".into(),
            ));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&s.bucket);
        if let Some(endpoint) = &s.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let region = s
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        builder = builder.with_region(region);
        if let Some((id, secret)) = &s.credentials {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        Ok(S3Blobs {
            store: Arc::new(builder.build()?),
            prefix: Path::from(s.prefix.trim_matches('/')),
        })
    }

    fn path(&self, name: &str) -> Result<Path, BlobError> {
        Ok(self.prefix.child(check_name(name)?))
    }
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

impl BlobStore for S3Blobs {
    fn put(&self, name: String, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), BlobError>> {
        Box::pin(async move {
            let path = self.path(&name)?;
            self.store.put(&path, PutPayload::from(bytes)).await?;
            Ok(())
        })
    }

    fn get(&self, name: String) -> BoxFuture<'_, Result<Option<Vec<u8>>, BlobError>> {
        Box::pin(async move {
            let path = self.path(&name)?;
            match self.store.get(&path).await {
                Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn delete(&self, name: String) -> BoxFuture<'_, Result<(), BlobError>> {
        Box::pin(async move {
            let path = self.path(&name)?;
            match self.store.delete(&path).await {
                Ok(()) => Ok(()),
                Err(e) if not_found(&e) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<BlobInfo>, BlobError>> {
        Box::pin(async move {
            let now = crate::now_millis();
            // Only what lies directly in the prefix, and only names a result may have: other
            // objects a bucket holds are not the sweeper's to delete.
            let listed = self.store.list_with_delimiter(Some(&self.prefix)).await?;
            Ok(listed
                .objects
                .into_iter()
                .filter_map(|o| {
                    // Some servers list the folder itself among its objects.
                    if o.location == self.prefix {
                        return None;
                    }
                    let name = o.location.filename()?.to_string();
                    check_name(&name).ok()?;
                    let age = (now - o.last_modified.timestamp_millis()).max(0) as u64;
                    Some(BlobInfo {
                        name,
                        age: Duration::from_millis(age),
                    })
                })
                .collect())
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), BlobError>> {
        // A signed listing of the prefix: the bucket exists and the credentials are accepted.
        Box::pin(async move {
            self.store.list_with_delimiter(Some(&self.prefix)).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::blobs::suite::blob_suite;
    use crate::store::suite::backend_env;

    /// The test server's bucket, under a prefix of its own.
    pub(crate) fn test_settings() -> Option<S3Settings> {
        Some(S3Settings {
            endpoint: Some(backend_env("FACESWAP_TEST_S3_ENDPOINT")?),
            bucket: backend_env("FACESWAP_TEST_S3_BUCKET")?,
            region: None,
            prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
            credentials: Some((
                backend_env("FACESWAP_TEST_S3_KEY")?,
                backend_env("FACESWAP_TEST_S3_SECRET")?,
            )),
        })
    }

    async fn open() -> Option<(Box<dyn std::any::Any + Send>, Box<dyn BlobStore>)> {
        let b = S3Blobs::open(&test_settings()?).unwrap();
        Some((Box::new(()), Box::new(b)))
    }

    blob_suite!(open);

    #[tokio::test]
    async fn a_wrong_secret_is_refused_by_the_server() {
        let Some(mut s) = test_settings() else {
            return;
        };
        if let Some((_, secret)) = s.credentials.as_mut() {
            secret.push('x');
        }
        let b = S3Blobs::open(&s).unwrap();
        assert!(b.ping().await.is_err());
        assert!(b.put("a.png".into(), vec![1]).await.is_err());
    }
}
