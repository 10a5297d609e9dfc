-- How many changes to groups and their defaults have been committed: a node keeps the lineage of
-- the groups servers are created into, and on SQLite a create reads this count to know whether it
-- still holds. PostgreSQL nodes are notified of changes instead and never read it.
CREATE TABLE groups_changes (n INTEGER NOT NULL);
INSERT INTO groups_changes (n) VALUES (0);
