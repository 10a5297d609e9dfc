-- Changing servers once they are built: secondary network adapters and public IP addresses.

-- A server's private addresses: one on its primary network and one per secondary network adapter.
-- An adapter's address is reserved (pending) when the request is accepted, so that nobody else
-- takes it, and shown on the server once the job that adds the adapter has succeeded.
ALTER TABLE ip_addresses ADD COLUMN role TEXT NOT NULL DEFAULT 'primary'; -- primary | secondary
ALTER TABLE ip_addresses ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;

-- Each data center's pool of public addresses: a /20 of 198.18.0.0/15 (RFC 2544, reserved for
-- benchmarking and never routed on the internet), taken in turn by the first data center that
-- needs one, and kept from then on.
CREATE TABLE public_ip_pools (
    dc      TEXT    PRIMARY KEY,
    base    INTEGER NOT NULL UNIQUE,
    prefix  INTEGER NOT NULL
);

-- Public addresses NATed to a server's private address. An address is allocated in the same write
-- transaction that accepts the request, and the primary key keeps it from ever being held twice.
CREATE TABLE public_ips (
    address              INTEGER NOT NULL PRIMARY KEY,
    dc                   TEXT    NOT NULL,
    account_id           INTEGER NOT NULL REFERENCES accounts (id),
    server_id            TEXT    NOT NULL REFERENCES servers (id),
    internal_address     INTEGER NOT NULL,
    ports                TEXT    NOT NULL,     -- JSON [{protocol, port, portTo?}]
    source_restrictions  TEXT    NOT NULL,     -- JSON [cidr]
    pending              INTEGER NOT NULL DEFAULT 1, -- 1 until the job that adds it succeeds
    created_at           INTEGER NOT NULL
);
CREATE INDEX public_ips_server ON public_ips (server_id);
