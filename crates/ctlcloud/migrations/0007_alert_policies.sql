-- Alert policies: an account's rules for mailing someone when a server's cpu, memory or disk stays
-- above a threshold for a while.
CREATE TABLE alert_policies (
    id          TEXT    PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT    NOT NULL,
    actions     TEXT    NOT NULL,   -- JSON [{action, settings: {recipients}}]
    triggers    TEXT    NOT NULL,   -- JSON [{metric, duration, threshold}]
    created_at  INTEGER NOT NULL
);
CREATE INDEX alert_policies_account ON alert_policies (account_id);
