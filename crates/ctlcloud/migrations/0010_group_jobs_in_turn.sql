-- The unfinished jobs on whole groups, per account, so that claiming a job can tell at once whether
-- an older one on a group holds it up (almost always there is none, and the index is empty).
CREATE INDEX jobs_open_group ON jobs (account_id, id)
    WHERE status IN ('notStarted', 'executing') AND kind IN ('deleteGroup', 'archiveGroup', 'restoreGroup');
