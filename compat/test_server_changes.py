"""Compatibility suite, day two: the unmodified clc-sdk changing built servers.

Server.Change() (cpu, memory, description), SetPassword(), Disks().Add() and
Disk.Grow(), PublicIPs().Add(), PublicIP.AddPort()/Delete(), and the server's
properties as the SDK reads them after each change.  Each class builds its own
server with the helpers of test_clc_sdk.
"""

import ipaddress

import pytest

import clc

from test_clc_sdk import assert_api_error, create_servers, wait_ok

POOL = ipaddress.ip_network("198.18.0.0/15")  # where ctlcloud's public addresses come from


@pytest.fixture(scope="module")
def dc(env):
    return clc.v2.Datacenter()


@pytest.fixture(scope="module")
def default_group(dc):
    return dc.Groups().Get("Default Group")


def build(dc, group, stem, password):
    """One CentOS 7 server, 1 cpu and 2 GB, built and returned as the SDK sees it."""
    spec = dict(description="compat %s" % stem, cpu=1, memory=2, template="CENTOS-7-64-TEMPLATE", password=password)
    _, (reqs,) = create_servers(dc, group, stem, [spec])
    (req,) = wait_ok(reqs, 1)
    return req.Server()


def fresh(server):
    """The server read again (the SDK caches what it loaded)."""
    return clc.v2.Server(server.name)


# --------------------------------------------------------------------------
# PATCH: cpu, memory, description, password, disks
# --------------------------------------------------------------------------


@pytest.fixture(scope="class")
def changed(dc, default_group):
    return build(dc, default_group, "chg", "Compat#Pass-1")


class TestChange:
    def test_change_cpu_and_memory(self, changed):
        before = fresh(changed)
        # One PATCH per member; each answers a status link the SDK follows.
        reqs = changed.Change(cpu=2, memory=4)
        wait_ok(reqs, 2)
        s = fresh(changed)
        assert type(s.cpu) is int and s.cpu == 2
        assert s.memory == 4
        assert s.memoryMB == 4096
        assert s.modified_date >= before.modified_date
        assert isinstance(s.modified_date, int)  # still the strict Zulu format
        assert s.status == "active"

    def test_change_description(self, changed):
        wait_ok(changed.Change(description="compat changed"), 1)
        assert fresh(changed).description == "compat changed"

    def test_set_password(self, changed):
        s = fresh(changed)
        wait_ok(s.SetPassword("Compat#Pass-2"), 1)  # reads the current one from Credentials()
        assert fresh(changed).Credentials()["password"] == "Compat#Pass-2"

    def test_set_password_with_a_stale_current_one_fails(self, changed):
        s = fresh(changed)
        s.Credentials = lambda: {"password": "not-the-password"}
        with pytest.raises(clc.APIFailedResponse) as ei:
            s.SetPassword("Compat#Pass-3")
        assert_api_error(ei, 400)
        assert fresh(changed).Credentials()["password"] == "Compat#Pass-2"

    def test_add_disks(self, changed):
        s = fresh(changed)
        count, storage = s.disk_count, s.storage
        wait_ok(s.Disks().Add(size=20, path="/data", type="partitioned"), 1)
        wait_ok(fresh(changed).Disks().Add(size=5, path=None, type="raw"), 1)
        s = fresh(changed)
        assert s.disk_count == count + 2
        assert s.storage == storage + 25
        data = s.Disks().Get("/data")
        assert data is not None and data.size == 20
        raw = [d for d in s.Disks().disks if d.partition_paths == []]
        assert [d.size for d in raw] == [5]
        assert len({d.id for d in s.Disks().disks}) == s.disk_count

    def test_grow_disk(self, changed):
        s = fresh(changed)
        wait_ok(s.Disks().Get("/data").Grow(30), 1)
        s = fresh(changed)
        assert s.Disks().Get("/data").size == 30
        assert s.storage == sum(d.size for d in s.Disks().disks)

    def test_shrinking_is_refused(self, changed):
        disk = fresh(changed).Disks().Get("/data")
        disk.size = 1  # the SDK only checks against what it holds
        with pytest.raises(clc.APIFailedResponse) as ei:
            disk.Grow(10)
        assert_api_error(ei, 400)
        assert fresh(changed).Disks().Get("/data").size == 30

    def test_reserved_drive_paths(self, changed):
        paths = fresh(changed).reserved_drive_paths  # GET .../capabilities
        assert "boot" in paths

    def test_cpu_out_of_range_is_refused(self, changed):
        with pytest.raises(clc.APIFailedResponse) as ei:
            changed.Change(cpu=17)
        assert_api_error(ei, 400)
        assert fresh(changed).cpu == 2

    def test_delete_server(self, changed):
        wait_ok(fresh(changed).Delete(), 1)


# --------------------------------------------------------------------------
# public IPs
# --------------------------------------------------------------------------


@pytest.fixture(scope="class")
def exposed(dc, default_group):
    return build(dc, default_group, "pip", None)


class TestPublicIPs:
    def test_none_at_first(self, exposed):
        assert fresh(exposed).PublicIPs().public_ips == []

    def test_add(self, exposed):
        reqs = exposed.PublicIPs().Add(
            ports=[{"protocol": "TCP", "port": 80}, {"protocol": "UDP", "port": 10, "port_to": 20}],
            source_restrictions=[{"cidr": "70.100.60.0/24"}],
        )
        wait_ok(reqs, 1)
        s = fresh(exposed)
        (ip,) = s.PublicIPs().public_ips
        assert ipaddress.ip_address(ip.id) in POOL
        assert ip.internal == s.ip_addresses[0]["internal"]
        assert sorted(str(p) for p in ip.ports) == ["10-20/UDP", "80/TCP"]  # GET publicIPAddresses/{ip}
        assert [str(r) for r in ip.source_restrictions] == ["70.100.60.0/24"]
        assert s.PublicIPs().Get(ip.internal).id == ip.id

    def test_add_port(self, exposed):
        ip = fresh(exposed).PublicIPs().public_ips[0]
        wait_ok(ip.AddPort(protocol="TCP", port="443"), 1)  # PUT with every port
        ip = fresh(exposed).PublicIPs().public_ips[0]
        assert sorted(str(p) for p in ip.ports) == ["10-20/UDP", "443/TCP", "80/TCP"]
        assert [str(r) for r in ip.source_restrictions] == ["70.100.60.0/24"]

    def test_bad_port_is_refused(self, exposed):
        with pytest.raises(clc.APIFailedResponse) as ei:
            exposed.PublicIPs().Add(ports=[{"protocol": "TCP", "port": 70000}])
        assert_api_error(ei, 400)
        assert len(fresh(exposed).PublicIPs().public_ips) == 1

    def test_delete(self, exposed):
        ip = fresh(exposed).PublicIPs().public_ips[0]
        wait_ok(ip.Delete(), 1)
        s = fresh(exposed)
        assert s.PublicIPs().public_ips == []
        assert not any("public" in a for a in s.ip_addresses)

    def test_delete_server(self, exposed):
        wait_ok(fresh(exposed).Delete(), 1)
