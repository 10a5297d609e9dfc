-- An account's networks in a data center in address order, so that the oldest one with room for a
-- new server is found by reading them in that order and stopping at the first, with no sort.
CREATE INDEX networks_account_dc_base ON networks (account_id, dc, base);
DROP INDEX networks_account_dc;
