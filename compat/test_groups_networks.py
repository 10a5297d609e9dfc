"""Compatibility suite, part two: groups, networks, clones and group defaults, driven through
the unmodified clc-sdk 2.51 the way user scripts (and the Ansible modules) use it.

  TestGroupLifecycle   Group.Create / Group.Delete().WaitUntilComplete() with servers inside
  TestGroupDefaults    defaults set by API call, read by Group.Defaults(), used by Server.Create
  TestNetworkLifecycle Network.Create (claim), Networks list/Get, Network.Update, Network.Delete
  TestClone            Server.Clone of a built server
"""

import ipaddress

import pytest

import clc

# Helpers and fixtures of the first part; importing the fixtures makes them available here.
from test_clc_sdk import (  # noqa: F401
    HEX32,
    POLL_S,
    WAIT_S,
    ZULU,
    assert_api_error,
    create_servers,
    dc,
    default_group,
    link,
    wait_ok,
)


def subgroup_names(group_id):
    return [g.name for g in clc.v2.Group(group_id).Subgroups().groups]


# --------------------------------------------------------------------------
# groups
# --------------------------------------------------------------------------


class TestGroupLifecycle:
    def test_delete_removes_the_group_its_subgroups_and_servers(self, dc, default_group):
        parent = default_group.Create("compat-doomed", "deleted by the compat suite")
        child = parent.Create("compat-doomed-kid")
        _, (reqs,) = create_servers(
            dc, child, "gdel", [dict(cpu=1, memory=1, template="UBUNTU-16-64-TEMPLATE")]
        )
        (req,) = wait_ok(reqs, 1)
        server = req.Server()
        assert clc.v2.Group(parent.id).Subgroups().Get("compat-doomed-kid").id == child.id

        reqs = clc.v2.Group(parent.id).Delete()  # a bare status link, wrapped by the SDK
        assert len(reqs.requests) == 1
        assert reqs.WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S) == 0
        assert len(reqs.success_requests) == 1
        assert reqs.success_requests[0].Status() == "succeeded"

        for group_id in (parent.id, child.id):
            with pytest.raises(clc.APIFailedResponse) as ei:
                clc.v2.Group(group_id)
            assert_api_error(ei, 404)
        with pytest.raises(clc.CLCException, match="Server does not exist"):
            clc.v2.Server(server.name)
        assert "compat-doomed" not in subgroup_names(default_group.id)

    def test_an_empty_group_deletes_with_the_single_waiter(self, default_group):
        g = default_group.Create("compat-empty")
        reqs = g.Delete()
        reqs.requests[0].WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S)  # raises unless succeeded
        assert "compat-empty" not in subgroup_names(default_group.id)

    def test_kept_groups_cannot_be_deleted(self, dc):
        root = dc.RootGroup()
        for g in (root, root.Subgroups().Get("Archive")):
            with pytest.raises(clc.APIFailedResponse) as ei:
                g.Delete()
            assert_api_error(ei, 400)

    def test_unknown_group_delete_is_404(self, env):
        ghost = clc.v2.Group("0" * 32, group_obj={"id": "0" * 32, "name": "ghost"})
        with pytest.raises(clc.APIFailedResponse) as ei:
            ghost.Delete()
        assert_api_error(ei, 404)


class TestGroupDefaults:
    def test_defaults_are_inherited_and_fill_in_server_create(self, env, dc, default_group):
        g = default_group.Create("compat-defaults")
        assert clc.v2.Group(g.id).Defaults("cpu") is None
        # The SDK has no setter; a dict payload goes out form-encoded, numbers as text.
        answer = clc.v2.API.Call(
            "POST",
            "groups/%s/%s/defaults" % (env.alias, g.id),
            {"cpu": 2, "memoryGB": 3, "templateName": "UBUNTU-16-64-TEMPLATE"},
        )
        assert answer["cpu"] == {"value": 2, "inherited": False}
        assert answer["memoryGB"] == {"value": 3, "inherited": False}

        fresh = clc.v2.Group(g.id)
        assert fresh.Defaults("cpu") == 2
        assert fresh.Defaults("memory") == 3  # the key Server.Create asks for
        assert fresh.Defaults("templateName") == "UBUNTU-16-64-TEMPLATE"
        assert fresh.Defaults("primaryDns") is None
        child = g.Create("compat-defaults-kid")
        inherited = clc.v2.API.Call("GET", "groups/%s/%s/defaults" % (env.alias, child.id))
        assert inherited["cpu"] == {"value": 2, "inherited": True}

        # No cpu and no memory: the SDK falls back on the group's defaults.
        reqs = clc.v2.Server.Create(
            name="gdef",
            template="UBUNTU-16-64-TEMPLATE",
            group_id=child.id,
            network_id=dc.Networks().networks[0].id,
        )
        (req,) = wait_ok(reqs, 1)
        s = req.Server()
        assert s.cpu == 2
        assert s.memory == 3
        wait_ok(s.Delete(), 1)

    def test_bad_defaults_are_refused(self, env, default_group):
        for payload in ({"cpu": 17}, {"memoryGB": 0}, {"templateName": "NO-SUCH"}, {"networkId": "0" * 32}):
            with pytest.raises(clc.APIFailedResponse) as ei:
                clc.v2.API.Call("POST", "groups/%s/%s/defaults" % (env.alias, default_group.id), payload)
            assert_api_error(ei, 400)


# --------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------


def claim():
    """Network.Create (claim) followed through the experimental queue; returns the Network."""
    reqs = clc.v2.Network.Create()
    assert len(reqs.requests) == 1
    req = reqs.requests[0]
    assert HEX32.match(req.id), req.id
    assert req.uri.startswith("/v2-experimental/operations/"), req.uri
    # The experimental status says "running" until done; the waiter keeps polling on it.
    assert reqs.WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S) == 0
    assert len(reqs.success_requests) == 1
    status = clc.v2.API.Call("GET", req.uri)
    assert ZULU.match(status["source"]["requestedAt"]), status
    network_link = status["summary"]["links"][0]  # what Ansible follows
    assert network_link["rel"] == "network"
    assert network_link["href"].endswith("/" + network_link["id"])
    return clc.v2.Network(network_link["id"])


class TestNetworkLifecycle:
    def test_claim_list_get_update_release(self, dc):
        before = {n.id for n in dc.Networks(forced_load=True).networks}
        net = claim()
        assert net.id not in before
        cidr = ipaddress.ip_network(net.cidr)
        assert cidr.prefixlen == 24
        assert ipaddress.ip_address(net.gateway) in cidr
        assert net.name.startswith("vlan_")
        listed = dc.Networks(forced_load=True)
        assert listed.Get(net.id).cidr == net.cidr
        # Deployable at once (a fresh Datacenter: the fixture's caches its capabilities).
        assert net.id in {n.id for n in clc.v2.Datacenter().Networks().networks}

        net.Update("compat-net", "claimed by the compat suite")  # form-encoded PUT
        back = clc.v2.Network(net.id)
        assert back.name == "compat-net"
        assert back.description == "claimed by the compat suite"
        back.Update("compat-net-2")  # the SDK resends the current description
        assert dc.Networks(forced_load=True).Get("compat-net-2").description == "claimed by the compat suite"

        back.Delete()  # release
        with pytest.raises(clc.CLCException, match="Network does not exist"):
            clc.v2.Network(net.id)
        assert net.id not in {n.id for n in dc.Networks(forced_load=True).networks}

    def test_a_network_in_use_is_not_released(self, dc, default_group):
        net = claim()
        reqs = clc.v2.Server.Create(
            name="gnet",
            template="UBUNTU-16-64-TEMPLATE",
            group_id=default_group.id,
            network_id=net.id,
            cpu=1,
            memory=1,
        )
        (req,) = wait_ok(reqs, 1)
        server = req.Server()
        assert ipaddress.ip_address(server.ip_addresses[0]["internal"]) in ipaddress.ip_network(net.cidr)
        with pytest.raises(clc.APIFailedResponse) as ei:
            net.Delete()
        assert_api_error(ei, 400)
        assert clc.v2.Network(net.id).id == net.id
        wait_ok(server.Delete(), 1)
        net.Delete()
        with pytest.raises(clc.CLCException, match="Network does not exist"):
            clc.v2.Network(net.id)

    def test_update_of_unknown_network_is_404(self, env):
        ghost = clc.v2.Network("0" * 32, network_obj={"name": "ghost", "description": "x"})
        with pytest.raises(clc.APIFailedResponse) as ei:
            ghost.Update("nope")
        assert_api_error(ei, 404)


# --------------------------------------------------------------------------
# clones
# --------------------------------------------------------------------------


class TestClone:
    def test_clone_copies_the_source(self, dc, default_group):
        spec = dict(cpu=2, memory=3, template="CENTOS-7-64-TEMPLATE", password="Clone#Src-1", description="clone source")
        network_id, (reqs,) = create_servers(dc, default_group, "gsrc", [spec])
        (req,) = wait_ok(reqs, 1)
        source = req.Server()
        assert source.name == "WA1DEMOGSRC01"

        # The SDK recovers the stem from the name, reads the source's password through
        # Credentials() and sends the source's name as sourceServerId.
        clones = source.Clone(network_id=network_id)
        (creq,) = wait_ok(clones, 1)
        clone = creq.Server()
        assert clone.name == "WA1DEMOGSRC02"
        assert clone.cpu == 2
        assert clone.memory == 3
        assert clone.description == "clone source"
        assert clone.os_type == source.os_type
        assert [(d.size, d.partition_paths) for d in clone.Disks().disks] == [
            (d.size, d.partition_paths) for d in source.Disks().disks
        ]
        assert clone.Credentials()["password"] == "Clone#Src-1"
        wait_ok(sum([clone.Delete(), source.Delete()]), 2)
