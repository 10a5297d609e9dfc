-- Where the search for a network's lowest free address starts: every assignable address below
-- `free_from` is taken (0: not known yet, search from the first). Creating a server then costs
-- the same on a network with thousands of servers as on an empty one, and full networks are
-- skipped without reading their addresses. Triggers keep it right whatever assigns or frees an
-- address: assigning exactly `free_from` moves it up, freeing anything below it moves it down.

ALTER TABLE networks ADD COLUMN free_from INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER ip_addresses_assigned AFTER INSERT ON ip_addresses BEGIN
    UPDATE networks SET free_from = new.address + 1
    WHERE id = new.network_id AND free_from = new.address;
END;

CREATE TRIGGER ip_addresses_freed AFTER DELETE ON ip_addresses BEGIN
    UPDATE networks SET free_from = old.address
    WHERE id = old.network_id AND free_from > old.address;
END;

CREATE TRIGGER ip_addresses_moved AFTER UPDATE OF network_id, address ON ip_addresses BEGIN
    UPDATE networks SET free_from = old.address
    WHERE id = old.network_id AND free_from > old.address;
END;
