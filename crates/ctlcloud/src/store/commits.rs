//! Whether anything was committed to the SQLite file since a moment, known without a read
//! transaction: a request whose answer was read before and is kept need not take SQLite's read
//! locks only to learn that nothing changed.
//!
//! SQLite in WAL mode keeps a header at the start of the file's shared-memory index (`-shm`,
//! mapped by every connection of every process on the file; its layout is part of SQLite's
//! documented file format, "WAL-mode File Format"). Every committed transaction rewrites that
//! header (its change counter, last frame and checksums), whichever process commits it, before its
//! `COMMIT` returns; checkpoints and readers leave it alone. So a header read now that is the one
//! read before means nothing was committed in between. The header is written twice, the second
//! copy first; a read that finds the copies different met a commit under way and is not used.
//!
//! A node counts the headers it sees: the count moves whenever the header read differs from the
//! last one, and a count always stands for the one header it was counted with. Values kept under
//! a count ([`super::kept::Kept`]) are given out again only while it has not moved.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

/// The size of one copy of the header.
const HEADER: usize = 48;

/// The commits to one SQLite file, as this node has seen them.
#[derive(Debug)]
pub struct Commits {
    index: File,
    /// The header last read, and its count.
    last: Mutex<([u8; HEADER], u64)>,
}

impl Commits {
    /// Reads the index of the database at `db`, which must be open in WAL mode (its index then
    /// exists while any connection is open). `None` if it cannot be opened.
    pub fn open(db: &Path) -> Option<Commits> {
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        let index = File::open(name).ok()?;
        Some(Commits {
            index,
            last: Mutex::new(([0; HEADER], 0)),
        })
    }

    /// The count of commits seen as of now; `None` when the header could not be read whole (a
    /// commit was writing it), and then nothing kept may be given out.
    pub fn count(&self) -> Option<u64> {
        let mut both = [0u8; 2 * HEADER];
        self.index.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER);
        // Byte 12 is `isInit`: an index not yet initialised says nothing.
        if first != second || first[12] != 1 {
            return None;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.0 != first {
            last.0.copy_from_slice(first);
            last.1 += 1;
        }
        Some(last.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite;

    #[test]
    fn the_count_moves_with_every_commit_from_any_connection_and_only_then() {
        let dir = std::env::temp_dir().join(format!("ctlcloud-commits-{}", crate::ids::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("test.db");
        let writer = sqlite::open(&path, false).unwrap();
        writer.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let commits = Commits::open(&path).expect("the index exists");
        let before = commits.count().expect("a whole header");
        assert_eq!(commits.count(), Some(before), "nothing committed");

        // Reads, even in a transaction, change nothing.
        let reader = sqlite::open(&path, true).unwrap();
        let n: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(commits.count(), Some(before));

        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let after_one = commits.count().unwrap();
        assert_ne!(after_one, before);
        assert_eq!(commits.count(), Some(after_one));

        // A commit of another connection (as of another process) moves it too.
        let other = sqlite::open(&path, false).unwrap();
        other.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_ne!(commits.count().unwrap(), after_one);

        // A transaction rolled back commits nothing.
        let now = commits.count().unwrap();
        other
            .execute_batch("BEGIN; INSERT INTO t VALUES (3); ROLLBACK")
            .unwrap();
        assert_eq!(commits.count(), Some(now));

        // A checkpoint moves data, not the header.
        other
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .unwrap();
        assert_eq!(commits.count(), Some(now));
        drop((writer, reader, other));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_index_no_commits() {
        let dir = std::env::temp_dir().join(format!("ctlcloud-commits-{}", crate::ids::new_id()));
        assert!(Commits::open(&dir.join("missing.db")).is_none());
    }
}
