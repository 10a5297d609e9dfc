-- The servers of a group, read from the index alone and already in the order they are shown: the
-- group's index held only the rows' places in the table, so that listing a group of 10,000
-- servers looked each one up in the table for its id and then sorted the ids.
CREATE INDEX servers_group_id ON servers (group_id, id);
DROP INDEX servers_group;
