//! The one test suite every [`BlobStore`] passes; [`blob_suite!`] runs it on a backend.

use std::time::Duration;

use super::BlobStore;

/// A `#[tokio::test]` of [`put_get_list_delete`] on a store from `$open` (an async fn returning
/// `Option<(guard, store)>`; `None` skips: the backend's server is not there).
macro_rules! blob_suite {
    ($open:path) => {
        #[tokio::test]
        async fn put_get_list_delete() {
            if let Some((_guard, store)) = $open().await {
                $crate::blobs::suite::put_get_list_delete(store.as_ref()).await;
            }
        }
    };
}
pub(crate) use blob_suite;

pub(crate) async fn put_get_list_delete(b: &dyn BlobStore) {
    b.ping().await.unwrap();
    assert!(b.list().await.unwrap().is_empty());
    b.put("abc.jpeg".into(), vec![1, 2, 3]).await.unwrap();
    b.put("abc.jpeg".into(), vec![4, 5]).await.unwrap();
    b.put("d-e_f.png".into(), vec![0; 100_000]).await.unwrap();
    assert_eq!(b.get("abc.jpeg".into()).await.unwrap(), Some(vec![4, 5]));
    assert_eq!(b.get("nope.jpeg".into()).await.unwrap(), None);
    let mut list = b.list().await.unwrap();
    list.sort_by(|x, y| x.name.cmp(&y.name));
    let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["abc.jpeg", "d-e_f.png"]);
    assert!(
        list.iter().all(|i| i.age < Duration::from_secs(60)),
        "{list:?}"
    );
    b.delete("abc.jpeg".into()).await.unwrap();
    b.delete("abc.jpeg".into()).await.unwrap();
    assert_eq!(b.get("abc.jpeg".into()).await.unwrap(), None);
    assert_eq!(b.list().await.unwrap().len(), 1);
    for bad in ["../etc/passwd", ".hidden", "a/b", ""] {
        assert!(b.get(bad.into()).await.is_err(), "{bad}");
        assert!(b.put(bad.into(), vec![1]).await.is_err(), "{bad}");
    }
    b.delete("d-e_f.png".into()).await.unwrap();
    assert!(b.list().await.unwrap().is_empty());
}
