//! What a connection keeps for each statement text it has run, on both engines: how its rows are
//! read (SQLite: the column names; PostgreSQL: the names and each column's kind) and, on
//! PostgreSQL, the text as sent. Working these out for every run was a quarter of the store's part
//! of a GET on SQLite; on PostgreSQL the shapes were a twentieth of a GET's instructions and the
//! renumbering about a fiftieth (callgrind).

use std::collections::HashMap;

/// How many statements a connection keeps prepared, and how many statement texts it keeps entries
/// for: more than the store has statements (sqlx's default of 100 is not), so that none is
/// prepared again for want of room.
pub const KEPT: usize = 256;

/// Entries by statement text, at most [`KEPT`] of them.
#[derive(Debug)]
pub struct ByText<V> {
    entries: HashMap<String, V, foldhash::fast::FixedState>,
}

impl<V> Default for ByText<V> {
    fn default() -> Self {
        ByText {
            entries: HashMap::default(),
        }
    }
}

impl<V: Clone> ByText<V> {
    /// The entry kept for `sql` while `fits` says it still describes the statement, otherwise one
    /// made by `make` and kept in its place. A statement that reads `table.*` answers more
    /// columns once another process or node has migrated the schema (migrations only add
    /// columns), and the engine has prepared it again: `fits` compares what the entry expects
    /// with what the statement now answers.
    pub fn get<E>(
        &mut self,
        sql: &str,
        fits: impl FnOnce(&V) -> bool,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if let Some(kept) = self.entries.get(sql) {
            if fits(kept) {
                return Ok(kept.clone());
            }
        }
        let made = make()?;
        // A statement built for a number of rows has a text for each number: no more entries are
        // kept than prepared statements.
        if self.entries.len() >= KEPT {
            self.entries.clear();
        }
        self.entries.insert(sql.to_owned(), made.clone());
        Ok(made)
    }

    /// The entry kept for `sql`, as it is.
    #[cfg(test)]
    pub fn kept(&self, sql: &str) -> Option<&V> {
        self.entries.get(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[test]
    fn an_entry_is_made_once_and_again_only_when_it_no_longer_fits() {
        let mut kept = ByText::<usize>::default();
        let mut made = 0;
        for columns in [3, 3, 4, 4] {
            let Ok(entry) = kept.get(
                "SELECT *",
                |n| *n == columns,
                || {
                    made += 1;
                    Ok::<_, Infallible>(columns)
                },
            );
            assert_eq!(entry, columns);
        }
        assert_eq!(made, 2);
        assert_eq!(kept.kept("SELECT *"), Some(&4));
    }

    #[test]
    fn a_failed_make_keeps_nothing() {
        let mut kept = ByText::<usize>::default();
        assert_eq!(kept.get("q", |_| true, || Err("refused")), Err("refused"));
        assert_eq!(kept.kept("q"), None);
    }

    #[test]
    fn no_more_entries_are_kept_than_statements_prepared() {
        let mut kept = ByText::<usize>::default();
        for n in 0..KEPT * 3 + 7 {
            let Ok(_) = kept.get(&format!("SELECT {n}"), |_| true, || Ok::<_, Infallible>(n));
            assert!(kept.entries.len() <= KEPT);
        }
        let last = format!("SELECT {}", KEPT * 3 + 6);
        assert_eq!(kept.kept(&last), Some(&(KEPT * 3 + 6)));
    }
}
