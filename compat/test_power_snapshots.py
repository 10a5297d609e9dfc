"""Compatibility: power operations, maintenance mode, archive and snapshots through the
unmodified clc-sdk 2.51 (Server.PowerOff()/PowerOn()/Pause()/..., Servers([...]),
CreateSnapshot()/RestoreSnapshot()/DeleteSnapshot(), Archive()).

What the SDK does with the answers (server.py _Operation, queue.py Requests):
  - "The server already in desired state." entries are skipped: nothing to wait for;
  - any other errorMessage in a 2xx answer raises (CLCException, or a bare Exception
    for the "cannot be found or it is not in a valid state" wording);
  - a 400 whose body is the array of entries (nothing could be queued) reaches
    Requests as {} -- the SDK reads r.json()['message'] first, which fails on a list
    -- so nothing is raised and nothing is waited for.
"""

import json
import re

import pytest

import clc
from test_clc_sdk import (  # noqa: F401  (dc and default_group are fixtures)
    POLL_S,
    WAIT_S,
    create_servers,
    dc,
    default_group,
    wait_ok,
)

SNAPSHOT_NAME = re.compile(r"^\d{4}-\d\d-\d\d\.\d\d:\d\d:\d\d$")
SPEC = dict(description="compat power", cpu=1, memory=1, template="UBUNTU-16-64-TEMPLATE")
NOT_FOUND = "The operation cannot be queued because the server cannot be found or it is not in a valid state."


@pytest.fixture(scope="module")
def servers(dc, default_group):
    """Two fresh servers (WA1DEMOPWR01/02), deleted at the end of the module."""
    _, queued = create_servers(dc, default_group, "pwr", [SPEC, SPEC])
    built = sorted((r.Server() for r in wait_ok(sum(queued), 2)), key=lambda s: s.name)
    yield built
    wait_ok(sum(clc.v2.Server(s.id).Delete() for s in built), 2)


def fresh(server):
    return clc.v2.Server(server.id)


def power_of(server):
    return fresh(server).power_state


class TestPowerOperations:
    def test_power_cycle(self, servers):
        s = fresh(servers[0])
        assert s.power_state == "started"
        for op, state in [
            ("PowerOff", "stopped"),
            ("PowerOn", "started"),
            ("Pause", "paused"),
            ("PowerOn", "started"),
            ("Reboot", "started"),
            ("Reset", "started"),
            ("ShutDown", "stopped"),
            ("PowerOn", "started"),
        ]:
            reqs = getattr(s, op)()
            assert len(reqs.requests) == 1, op
            assert reqs.requests[0].context_key == "server"
            assert reqs.requests[0].context_val == s.id.lower()
            wait_ok(reqs, 1)
            s.Refresh()
            assert s.power_state == state, op
            assert isinstance(s.modified_date, int)  # changeInfo still parses strictly

    def test_single_request_waiter(self, servers):
        s = fresh(servers[0])
        (req,) = s.PowerOff().requests
        req.WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S)  # raises on failed
        assert req.Status() == "succeeded"
        assert power_of(s) == "stopped"
        wait_ok(s.PowerOn(), 1)

    def test_already_in_desired_state_is_a_silent_success(self, servers):
        s = fresh(servers[0])
        reqs = s.PowerOn()
        assert reqs.requests == [] and reqs.error_requests == []
        assert reqs.WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S) == 0
        assert power_of(s) == "started"

    def test_an_impossible_operation_queues_nothing(self, servers, env):
        s = fresh(servers[0])
        wait_ok(s.PowerOff(), 1)
        # 400 with the array: the SDK cannot read `message` from it and gives up silently.
        reqs = s.Pause()
        assert reqs.requests == []
        assert reqs.WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S) == 0
        assert power_of(s) == "stopped"
        # The answer itself says why.
        with pytest.raises(clc.APIFailedResponse) as ei:
            clc.v2.API.Call("POST", "operations/%s/servers/pause" % env.alias, json.dumps([s.id]))
        assert ei.value.response_status_code == 400
        (entry,) = json.loads(ei.value.response_text)
        assert entry["isQueued"] is False
        assert "only a started server can be paused" in entry["errorMessage"]
        wait_ok(s.PowerOn(), 1)

    def test_several_servers_at_once(self, servers):
        both = clc.v2.Servers([s.id for s in servers])
        wait_ok(both.PowerOff(), 2)
        assert [power_of(s) for s in servers] == ["stopped", "stopped"]
        wait_ok(both.PowerOn(), 2)
        assert [power_of(s) for s in servers] == ["started", "started"]

    def test_a_failed_entry_among_queued_ones_raises(self, servers):
        one, two = servers
        wait_ok(fresh(one).PowerOff(), 1)
        with pytest.raises(clc.CLCException, match="only a started server can be paused"):
            clc.v2.Servers([two.id, one.id]).Pause()
        # two's pause was queued all the same; a power on queued after it runs after it.
        wait_ok(fresh(two).PowerOn(), 1)
        assert power_of(two) == "started"
        with pytest.raises(Exception, match="cannot be found or it is not in a valid state"):
            clc.v2.Servers([two.id, "WA1DEMONOPE01"]).PowerOff()
        wait_ok(fresh(two).PowerOn(), 1)
        wait_ok(fresh(one).PowerOn(), 1)
        # Nothing queued at all: silent, as above.
        assert clc.v2.Servers(["WA1DEMONOPE01"]).PowerOn().requests == []

    def test_maintenance_mode(self, servers):
        s = fresh(servers[1])
        assert s.in_maintenance_mode is False
        wait_ok(s.StartMaintenance(), 1)
        s.Refresh()
        assert s.in_maintenance_mode is True
        assert s.StartMaintenance().requests == []
        wait_ok(clc.v2.Servers([s.id]).StopMaintenance(), 1)
        s.Refresh()
        assert s.in_maintenance_mode is False
        assert s.power_state == "started"


class TestSnapshots:
    def test_create_snapshot(self, servers):
        s = fresh(servers[1])
        assert s.GetSnapshots() == []
        wait_ok(s.CreateSnapshot(expiration_days=2), 1)  # a form with a single serverIds
        s.Refresh()
        names = s.GetSnapshots()
        assert len(names) == 1 and SNAPSHOT_NAME.match(names[0]), names

    def test_a_second_snapshot_replaces_the_first(self, servers):
        s = fresh(servers[1])
        with pytest.raises(clc.CLCException, match="Snapshot already exists"):
            s.CreateSnapshot(delete_existing=False)
        (old,) = s.data["details"]["snapshots"]
        # The SDK queues the delete and takes the new snapshot at once, without waiting.
        wait_ok(s.CreateSnapshot(), 1)
        s.Refresh()
        (new,) = s.data["details"]["snapshots"]
        assert SNAPSHOT_NAME.match(new["name"])
        delete = [l["href"] for l in new["links"] if l["rel"] == "delete"]
        assert delete and delete != [l["href"] for l in old["links"] if l["rel"] == "delete"]

    def test_restore_snapshot(self, servers):
        s = fresh(servers[1])
        wait_ok(s.PowerOff(), 1)
        name = s.GetSnapshots()[0]
        wait_ok(fresh(s).RestoreSnapshot(), 1)
        s.Refresh()
        assert s.power_state == "started"  # as it was when the snapshot was taken
        assert s.GetSnapshots() == [name]  # and the snapshot is kept
        assert (s.cpu, s.memory) == (SPEC["cpu"], SPEC["memory"])

    def test_delete_snapshot(self, servers):
        s = fresh(servers[1])
        wait_ok(s.DeleteSnapshot(), 1)
        s.Refresh()
        assert s.GetSnapshots() == []
        with pytest.raises(clc.CLCException, match="No snapshots exist"):
            s.RestoreSnapshot()


class TestArchive:
    def test_archive_and_restore(self, servers, default_group, env):
        s = fresh(servers[0])
        wait_ok(s.Archive(), 1)
        s.Refresh()
        assert s.status == "archived"
        assert s.power_state == "stopped"
        assert str(s.Group()) == "Archive"
        assert s.Archive().requests == []  # already archived
        assert s.PowerOn().requests == []  # refused with a 400: the SDK stays silent
        assert fresh(s).status == "archived"
        # The SDK's Server.Restore() is an empty stub; the call itself, form-encoded:
        assert s.Restore() is None
        link = clc.v2.API.Call(
            "POST", "servers/%s/%s/restore" % (env.alias, s.id), {"targetGroupId": default_group.id}
        )
        wait_ok(clc.v2.Requests(link), 1)
        s.Refresh()
        assert s.status == "active"
        assert s.power_state == "started"
        assert s.group_id == default_group.id
