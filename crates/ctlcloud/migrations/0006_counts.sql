-- How many servers each account holds, kept with every insert and delete of a server, so that the
-- per-account cap is checked without counting an account's servers on every create.
ALTER TABLE accounts ADD COLUMN servers_count INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET servers_count = (SELECT COUNT(*) FROM servers WHERE servers.account_id = accounts.id);

-- How many addresses each network has handed out, kept with every assignment and release, so
-- that a new server's network is found without reading the addresses of the full ones.
ALTER TABLE networks ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
UPDATE networks SET held = (SELECT COUNT(*) FROM ip_addresses a WHERE a.network_id = networks.id);
