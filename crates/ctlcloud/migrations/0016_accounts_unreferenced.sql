-- PostgreSQL only (SQLite records it as applied and keeps its foreign keys, which lock nothing).
--
-- An account is never deleted, and every row that names one takes the id from the account its
-- request acts on, so a foreign key to `accounts` guards nothing. On PostgreSQL it costs: each
-- row written checks its account's row and locks it against deletion (`FOR KEY SHARE`). Every
-- write takes that lock on the same row (its audit record, its jobs, its servers) while the
-- account's creates update that row's count of servers, and PostgreSQL then records each
-- overlap of lockers as a new multixact. In a run of creates, foreign-key checks took about an
-- eighth of PostgreSQL's CPU, half of them of the account. An account's parent stays checked:
-- accounts are created rarely.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_account_id_fkey;
ALTER TABLE custom_fields DROP CONSTRAINT IF EXISTS custom_fields_account_id_fkey;
ALTER TABLE groups DROP CONSTRAINT IF EXISTS groups_account_id_fkey;
ALTER TABLE networks DROP CONSTRAINT IF EXISTS networks_account_id_fkey;
ALTER TABLE servers DROP CONSTRAINT IF EXISTS servers_account_id_fkey;
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_account_id_fkey;
ALTER TABLE public_ips DROP CONSTRAINT IF EXISTS public_ips_account_id_fkey;
ALTER TABLE log_forwarding DROP CONSTRAINT IF EXISTS log_forwarding_account_id_fkey;
ALTER TABLE audit DROP CONSTRAINT IF EXISTS audit_account_id_fkey;
ALTER TABLE alert_policies DROP CONSTRAINT IF EXISTS alert_policies_account_id_fkey;
