-- Accounts, users and roles: who changed a user and when, and the audit trail of every write.

ALTER TABLE users ADD COLUMN created_by  TEXT    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN modified_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN modified_by TEXT    NOT NULL DEFAULT '';
UPDATE users SET modified_at = created_at WHERE modified_at = 0;

CREATE INDEX accounts_parent ON accounts (parent_id);

-- One row per write request that passed authentication (allowed or refused), and per admin action.
CREATE TABLE audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    actor          TEXT    NOT NULL,          -- username, or "operator" for the admin token
    account_id     INTEGER REFERENCES accounts (id), -- the actor's account; NULL for the operator
    account_alias  TEXT,
    operation      TEXT    NOT NULL,          -- the operation's name, e.g. "Create server"
    target         TEXT    NOT NULL,          -- method and path
    outcome        INTEGER NOT NULL           -- the HTTP status answered
);
CREATE INDEX audit_account ON audit (account_id, id);
