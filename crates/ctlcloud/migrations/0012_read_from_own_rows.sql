-- The rows read by nearly every request answer it from themselves: every authenticated request
-- reads its caller's account with the token, and a GET of a server reads whether to look for its
-- snapshots, public IP addresses and alert policies. Neither reads another table for it.

-- An account's parent, and the parent's alias, never change once it is created.
ALTER TABLE accounts ADD COLUMN parent_alias TEXT;
UPDATE accounts SET parent_alias = (SELECT p.alias FROM accounts p WHERE p.id = accounts.parent_id);

-- How many custom fields the account defines, kept with every one added (none is ever removed).
ALTER TABLE accounts ADD COLUMN custom_fields_count INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET custom_fields_count =
    (SELECT COUNT(*) FROM custom_fields c WHERE c.account_id = accounts.id);

-- How many snapshots, public IP addresses (pending ones included) and alert policies a server
-- has, kept with every one added and removed.
ALTER TABLE servers ADD COLUMN snapshots_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE servers ADD COLUMN public_ips_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE servers ADD COLUMN alert_policies_count INTEGER NOT NULL DEFAULT 0;
UPDATE servers SET
    snapshots_count = (SELECT COUNT(*) FROM snapshots x WHERE x.server_id = servers.id),
    public_ips_count = (SELECT COUNT(*) FROM public_ips x WHERE x.server_id = servers.id),
    alert_policies_count = (SELECT COUNT(*) FROM server_alert_policies x WHERE x.server_id = servers.id)
WHERE id IN (SELECT server_id FROM snapshots UNION SELECT server_id FROM public_ips
             UNION SELECT server_id FROM server_alert_policies);
