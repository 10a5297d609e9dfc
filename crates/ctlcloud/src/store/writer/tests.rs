//! Group commit against a real database file: batching, a failing member, a failing COMMIT.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::store::{db, Store, StoreResult};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The store's group-commit writer.
fn writer(store: &Store) -> &super::Writer {
    match &store.writes {
        crate::store::Writes::Sqlite(w) => w,
        crate::store::Writes::Postgres(_) => unreachable!("these tests open SQLite stores"),
    }
}

async fn open() -> (Store, Scratch) {
    let dir = std::env::temp_dir().join(format!("ctlcloud-writer-{}", crate::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(crate::store::Location::File(&dir.join("test.db")))
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    db::query("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        .execute(&mut tx)
        .await
        .unwrap();
    db::query(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, \
             parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
    )
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (store, Scratch(dir))
}

async fn insert_parent(store: &Store, id: i64) -> StoreResult<()> {
    let mut tx = store.write().await?;
    db::query("INSERT INTO parent (id) VALUES (?)")
        .bind(id)
        .execute(&mut tx)
        .await?;
    tx.commit().await
}

async fn parents(store: &Store) -> Vec<i64> {
    db::query_scalar("SELECT id FROM parent ORDER BY id")
        .fetch_all(store.reader())
        .await
        .unwrap()
}

/// Waits until `n` writers queue for the connection.
async fn until_waiting(store: &Store, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while writer(store).waiting.load(Ordering::SeqCst) < n {
        assert!(std::time::Instant::now() < deadline, "writers never queued");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn concurrent_writes_share_commits_and_all_land() {
    let (store, _dir) = open().await;
    let before = store.commits();
    let mut tasks = tokio::task::JoinSet::new();
    for id in 1..=50 {
        let store = store.clone();
        tasks.spawn(async move { insert_parent(&store, id).await });
    }
    for outcome in tasks.join_all().await {
        outcome.unwrap();
    }
    assert_eq!(parents(&store).await, (1..=50).collect::<Vec<_>>());
    let commits = store.commits() - before;
    assert!(commits < 50, "50 writes took {commits} commits");
}

#[tokio::test]
async fn a_failed_member_rolls_back_alone() {
    let (store, _dir) = open().await;
    let mut first = store.write().await.unwrap();
    db::query("INSERT INTO parent (id) VALUES (1)")
        .execute(&mut first)
        .await
        .unwrap();
    let failing = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            db::query("INSERT INTO parent (id) VALUES (2)")
                .execute(&mut tx)
                .await
                .unwrap();
            // A unique violation inside the member: the statement fails, the member gives up.
            let dup = db::query("INSERT INTO parent (id) VALUES (1)")
                .execute(&mut tx)
                .await;
            assert!(dup.is_err());
        })
    };
    let third = {
        let store = store.clone();
        tokio::spawn(async move { insert_parent(&store, 3).await })
    };
    until_waiting(&store, 2).await;
    first.commit().await.unwrap();
    failing.await.unwrap();
    third.await.unwrap().unwrap();
    assert_eq!(parents(&store).await, vec![1, 3]);
}

#[tokio::test]
async fn a_failed_commit_fails_every_member_and_the_next_batch_starts_clean() {
    let (store, _dir) = open().await;
    let mut orphan = store.write().await.unwrap();
    // Deferred: the missing parent only fails the batch's COMMIT.
    db::query("INSERT INTO child (id, parent) VALUES (1, 99)")
        .execute(&mut orphan)
        .await
        .unwrap();
    let sibling = {
        let store = store.clone();
        tokio::spawn(async move { insert_parent(&store, 7).await })
    };
    until_waiting(&store, 1).await;
    let orphan = tokio::spawn(orphan.commit());
    assert!(
        sibling.await.unwrap().is_err(),
        "the sibling shares the failed batch"
    );
    assert!(orphan.await.unwrap().is_err());
    assert!(parents(&store).await.is_empty());
    insert_parent(&store, 8).await.unwrap();
    assert_eq!(parents(&store).await, vec![8]);
}

#[tokio::test]
async fn a_batch_left_by_a_dropped_member_still_commits() {
    let (store, _dir) = open().await;
    let mut first = store.write().await.unwrap();
    db::query("INSERT INTO parent (id) VALUES (1)")
        .execute(&mut first)
        .await
        .unwrap();
    let dropped = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            db::query("INSERT INTO parent (id) VALUES (2)")
                .execute(&mut tx)
                .await
                .unwrap();
        })
    };
    until_waiting(&store, 1).await;
    // The first member leaves its batch open for the waiting writer, which never commits: the
    // committer has to finish the batch.
    tokio::time::timeout(Duration::from_secs(10), first.commit())
        .await
        .expect("the batch committed without its last member")
        .unwrap();
    dropped.await.unwrap();
    assert_eq!(parents(&store).await, vec![1]);
    insert_parent(&store, 3).await.unwrap();
    assert_eq!(parents(&store).await, vec![1, 3]);
}

#[tokio::test]
async fn a_writer_waits_for_another_process_holding_the_write_lock() {
    let (store, dir) = open().await;
    // Another process's connection (`ctlcloud admin`, say) holds the file's write lock.
    let other = rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let blocked = {
        let store = store.clone();
        tokio::spawn(async move { insert_parent(&store, 1).await })
    };
    // The writer takes the connection, then waits for the lock on a blocking thread, while the
    // runtime's threads still serve reads.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while writer(&store).batch.try_lock().is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never started"
        );
        tokio::task::yield_now().await;
    }
    assert!(parents(&store).await.is_empty());
    assert!(
        !blocked.is_finished(),
        "the write went ahead under another's lock"
    );
    other.execute_batch("COMMIT").unwrap();
    tokio::time::timeout(Duration::from_secs(20), blocked)
        .await
        .expect("the write went ahead once the lock was free")
        .unwrap()
        .unwrap();
    assert_eq!(parents(&store).await, vec![1]);
}
