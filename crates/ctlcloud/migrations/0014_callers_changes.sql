-- How many changes to callers (a user's roles, password or being disabled, revoked tokens, an
-- account's custom fields) have been committed: a node keeps the callers of recent tokens, and
-- on SQLite reads this count with every request to know whether they still hold.
CREATE TABLE callers_changes (n INTEGER NOT NULL);
INSERT INTO callers_changes (n) VALUES (0);
