-- How many addresses each network has left, kept with `held`, so that a new server's network (the
-- oldest with room) is read from an index of the networks with room, however many full ones the
-- account has.
ALTER TABLE networks ADD COLUMN free INTEGER NOT NULL DEFAULT 0;
-- Every network so far is a /24: 256 addresses, of which 13 are reserved.
UPDATE networks SET free = 243 - held;
CREATE INDEX networks_with_room ON networks (account_id, dc, base) WHERE free > 0;
