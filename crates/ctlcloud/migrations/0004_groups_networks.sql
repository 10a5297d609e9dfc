-- Group defaults for new servers, and network log forwarding per account and data center.

-- A group's own defaults; a column left NULL is inherited from the nearest ancestor that sets it.
CREATE TABLE group_defaults (
    group_id       TEXT    PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    cpu            INTEGER,
    memory_gb      INTEGER,
    network_id     TEXT,
    primary_dns    TEXT,
    secondary_dns  TEXT,
    template_name  TEXT
) WITHOUT ROWID;

-- Where a data center's network logs are forwarded; no row, or a NULL address, means disabled.
CREATE TABLE log_forwarding (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    dc              TEXT    NOT NULL,
    remote_address  TEXT,
    protocol        TEXT    NOT NULL,          -- tcp | udp
    modified_at     INTEGER NOT NULL,
    modified_by     TEXT    NOT NULL,
    PRIMARY KEY (account_id, dc)
) WITHOUT ROWID;

-- Custom field names are unique within an account, in any case.
CREATE UNIQUE INDEX custom_fields_account_name ON custom_fields (account_id, lower(name));
