-- Claiming reads the jobs waiting for a worker and, separately and less often, the jobs being run
-- (for those whose lease ran out). The one index of every unfinished job held both, and every
-- claim read the jobs being run too: up to a few hundred per node under load.
DROP INDEX jobs_open;
CREATE INDEX jobs_queued ON jobs (id) WHERE status = 'notStarted';
CREATE INDEX jobs_running ON jobs (id) WHERE status = 'executing';
