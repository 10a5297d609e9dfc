-- Server snapshots. A snapshot keeps what the server was when it was taken (size, disks, power
-- state), so that reverting to it brings that back. Deleting a server deletes its snapshots.

CREATE TABLE snapshots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- the small integer in the snapshot's hrefs
    server_id    TEXT    NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    taken_at     INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,                  -- a scheduled job deletes it then
    cpu          INTEGER NOT NULL,
    memory_mb    INTEGER NOT NULL,
    disks        TEXT    NOT NULL,                  -- JSON, as in servers.disks
    power_state  TEXT    NOT NULL,
    delete_job   INTEGER REFERENCES jobs (id)       -- set once a user asked to delete it
);
CREATE INDEX snapshots_server ON snapshots (server_id);
