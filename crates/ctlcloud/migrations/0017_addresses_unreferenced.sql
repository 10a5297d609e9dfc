-- PostgreSQL only (SQLite records it as applied and keeps its foreign keys, which lock nothing).
--
-- An address names its network and its server without a foreign key. Every change that could
-- leave one naming a network or server that is gone is made under the account's lock, and
-- checks there what the key checked: addresses are handed out by creates, in the statement that
-- writes their servers, and by new adapters, after reading the server; a network is released
-- only once no address on it is held; a server's delete takes back its addresses. On PostgreSQL
-- each address written checked both rows and locked them (`FOR KEY SHARE`), inside the account's
-- batch of creates, which every create behind it waits for: dropping the two checks shortened
-- a batch's writes by a fifth.
ALTER TABLE ip_addresses DROP CONSTRAINT IF EXISTS ip_addresses_network_id_fkey;
ALTER TABLE ip_addresses DROP CONSTRAINT IF EXISTS ip_addresses_server_id_fkey;
