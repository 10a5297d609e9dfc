-- The first schema: accounts, users and tokens; groups, networks, servers and their addresses;
-- the job queue. Times are seconds since the Unix epoch (UTC).
--
-- Written once for both engines: SQLite's dialect, limited to what PostgreSQL also accepts, with
-- the few type names store/mod.rs translates (INTEGER, BLOB, INTEGER PRIMARY KEY, WITHOUT ROWID).

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    alias       TEXT    NOT NULL UNIQUE,     -- upper case
    name        TEXT    NOT NULL,
    parent_id   INTEGER REFERENCES accounts (id),
    primary_dc  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    username       TEXT    NOT NULL,         -- unique in any case: see users_username
    password_hash  TEXT    NOT NULL,         -- argon2id, PHC string
    roles          TEXT    NOT NULL,         -- comma separated
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE tokens (
    hash        BLOB    PRIMARY KEY,         -- SHA-256 of the bearer token; the token is never stored
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked     BOOLEAN NOT NULL DEFAULT FALSE
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE custom_fields (
    id           TEXT    PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    name         TEXT    NOT NULL,
    is_required  BOOLEAN NOT NULL,
    position     INTEGER NOT NULL,           -- the order fields are listed in
    type         TEXT    NOT NULL,           -- text | checkbox | option
    options      TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX custom_fields_account ON custom_fields (account_id);

CREATE TABLE groups (
    id           TEXT    PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    dc           TEXT    NOT NULL,
    parent_id    TEXT    REFERENCES groups (id),
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    type         TEXT    NOT NULL,           -- default | archive | templates
    status       TEXT    NOT NULL,
    custom_fields TEXT   NOT NULL DEFAULT '[]', -- JSON
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    modified_at  INTEGER NOT NULL,
    modified_by  TEXT    NOT NULL
);
CREATE INDEX groups_parent ON groups (parent_id);
CREATE INDEX groups_account_dc ON groups (account_id, dc);

CREATE TABLE networks (
    id           TEXT    PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    dc           TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    base         INTEGER NOT NULL UNIQUE,    -- network address as an unsigned 32-bit number
    prefix       INTEGER NOT NULL,
    vlan         INTEGER NOT NULL,
    UNIQUE (dc, vlan)
);
CREATE INDEX networks_account_dc ON networks (account_id, dc);

CREATE TABLE servers (
    id                 TEXT    PRIMARY KEY,  -- the generated name, upper case
    uuid               TEXT    NOT NULL UNIQUE,
    account_id         INTEGER NOT NULL REFERENCES accounts (id),
    dc                 TEXT    NOT NULL,
    group_id           TEXT    NOT NULL REFERENCES groups (id),
    name_prefix        TEXT    NOT NULL,     -- DC + alias + requested name
    seq                INTEGER NOT NULL,
    description        TEXT    NOT NULL,
    template           TEXT    NOT NULL,
    cpu                INTEGER NOT NULL,
    memory_mb          INTEGER NOT NULL,
    type               TEXT    NOT NULL,
    storage_type       TEXT    NOT NULL,
    managed_os         BOOLEAN NOT NULL,
    managed_backup     BOOLEAN NOT NULL,
    status             TEXT    NOT NULL,
    power_state        TEXT    NOT NULL,
    in_maintenance     BOOLEAN NOT NULL DEFAULT FALSE,
    password           TEXT    NOT NULL,     -- the guest's administrator password, shown by /credentials
    primary_dns        TEXT,
    secondary_dns      TEXT,
    disks              TEXT    NOT NULL,     -- JSON
    custom_fields      TEXT    NOT NULL,     -- JSON
    packages           TEXT    NOT NULL,     -- JSON
    created_at         INTEGER NOT NULL,
    created_by         TEXT    NOT NULL,
    modified_at        INTEGER NOT NULL,
    modified_by        TEXT    NOT NULL,
    UNIQUE (name_prefix, seq)
);
CREATE INDEX servers_group ON servers (group_id);
CREATE INDEX servers_account ON servers (account_id);

CREATE TABLE ip_addresses (
    network_id  TEXT    NOT NULL REFERENCES networks (id),
    address     INTEGER NOT NULL,
    server_id   TEXT    NOT NULL REFERENCES servers (id),
    PRIMARY KEY (network_id, address)
) WITHOUT ROWID;
CREATE INDEX ip_addresses_server ON ip_addresses (server_id);

-- The queue. A job row is written in the same transaction as the change that needs it.
CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id      TEXT    NOT NULL UNIQUE, -- 32-hex id for the experimental status endpoint
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    dc                TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    server_id         TEXT,
    payload           TEXT    NOT NULL DEFAULT '{}',
    status            TEXT    NOT NULL,        -- notStarted | executing | succeeded | failed
    run_after         INTEGER NOT NULL DEFAULT 0, -- not claimed before this time (scheduled work)
    error_message     TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    requested_by      TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX jobs_open ON jobs (id) WHERE status IN ('notStarted', 'executing');
CREATE INDEX jobs_open_server ON jobs (server_id, id) WHERE status IN ('notStarted', 'executing');
