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

-- The policies applied to each server.
CREATE TABLE server_alert_policies (
    server_id  TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    policy_id  TEXT NOT NULL REFERENCES alert_policies (id) ON DELETE CASCADE,
    PRIMARY KEY (server_id, policy_id)
);
CREATE INDEX server_alert_policies_policy ON server_alert_policies (policy_id);
