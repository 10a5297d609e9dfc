"""Compatibility suite: the unmodified Python clc-sdk 2.51 against ctlcloud.

Every test drives the SDK the way a user script (or the Ansible clc_* modules,
which sit on top of it) would, and asserts on what the SDK hands back.  The
fixtures in conftest.py start the server and register the credentials.

Layout
  helpers / shared fixtures
  TestLogin, TestDatacenter, TestAccount, TestGroups, TestTemplates, TestNetworks
  TestServerLifecycle   create two servers in parallel -> inspect -> delete
  TestServerErrors      validation and 404 paths
  (day two)             power operations, Change()/PATCH, public IPs, snapshots,
                        disks, anti-affinity, alerts: add classes at the end,
                        building their servers with create_servers()/wait_ok().
"""

import ipaddress
import re
import subprocess
import time

import pytest

import clc

# The SDK's own waiters poll every 2 s by default; both accept poll_freq/timeout.
POLL_S = 0.2
WAIT_S = 60

HEX32 = re.compile(r"^[0-9a-f]{32}$")
ZULU = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

TEMPLATES = ("RHEL-6-64-TEMPLATE", "CENTOS-7-64-TEMPLATE", "UBUNTU-16-64-TEMPLATE")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def wait_ok(reqs, count):
    """Wait with the SDK's multi-request waiter; every request must succeed."""
    errors = reqs.WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S)
    assert errors == 0, "requests ended failed/unknown: %s" % [r.id for r in reqs.error_requests]
    # The waiter silently forgets requests whose status it does not recognise
    # (anything but notStarted/executing/resumed/queued/running/succeeded/
    # failed/unknown), so count the successes as well.
    assert len(reqs.success_requests) == count, "expected %d succeeded requests, got %d" % (
        count,
        len(reqs.success_requests),
    )
    return list(reqs.success_requests)


def create_servers(dc, group, stem, specs):
    """Queue one Server.Create per spec (all before waiting on any).

    Returns (network_id, [Requests, ...]) in spec order.
    """
    network_id = dc.Networks().networks[0].id
    templates = dc.Templates()
    queued = []
    for spec in specs:
        found = templates.Search(spec["template"])
        assert found, "template %s not offered" % spec["template"]
        queued.append(
            clc.v2.Server.Create(
                name=stem,
                template=found[0].id,
                group_id=group.id,
                network_id=network_id,
                cpu=spec["cpu"],
                memory=spec["memory"],
                password=spec.get("password"),
                description=spec.get("description"),
            )
        )
    return network_id, queued


def assert_api_error(excinfo, *statuses):
    e = excinfo.value
    assert e.response_status_code in statuses, "HTTP %s, wanted %s: %s" % (
        e.response_status_code,
        statuses,
        e.response_text,
    )
    # CONTRACT 1.4: every error body is JSON {"message": ...}; the SDK only
    # fills response_json when it could read message from it.
    assert isinstance(e.response_json, dict) and e.response_json.get("message"), e.response_text


def link(obj, rel):
    found = [l for l in obj.links if l["rel"] == rel]
    assert found, "no %r link in %r" % (rel, obj.links)
    return found[0]


# --------------------------------------------------------------------------
# shared fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dc(env):
    """The login's default data center (clc.v2.Datacenter() with no arguments)."""
    return clc.v2.Datacenter()


@pytest.fixture(scope="module")
def default_group(dc):
    return dc.Groups().Get("Default Group")


# --------------------------------------------------------------------------
# login
# --------------------------------------------------------------------------


class TestLogin:
    def test_credentials_yield_alias_and_default_dc(self, env):
        # Triggers the SDK's JSON login with the SetCredentials() values.
        assert clc.v2.Account.GetAlias() == env.alias
        assert clc.v2.Account.GetLocation() == env.dc

    def test_form_login_session(self, env):
        # get_session() logs in with a form body and returns a session dict
        # that every SDK object accepts instead of the global credentials.
        s = clc.v2.get_session(env.username, env.password)
        assert s["token"]
        assert s["alias"] == env.alias
        assert s["location"] == env.dc
        d = clc.v2.Datacenter(session=s)
        assert d.id == env.dc
        assert d.root_group_name == env.root_group_name
        assert str(clc.v2.Account(session=s)) == env.alias

    @pytest.mark.parametrize("user,password", [("admin", "wrong-password"), ("nobody", "whatever")])
    def test_bad_credentials_rejected(self, env, user, password):
        # The SDK reads r.json()['message'] from a 400.
        with pytest.raises(Exception, match="Invalid V2 API login"):
            clc.v2.get_session(user, password)

    def test_bad_token_is_401_with_message(self, env):
        s = clc.v2.get_session(env.username, env.password)
        forged = dict(s, token="not-a-valid-token")
        with pytest.raises(clc.APIFailedResponse) as ei:
            clc.v2.Account(session=forged)
        assert_api_error(ei, 401)


# --------------------------------------------------------------------------
# roles: what a user may do is decided by their roles; refusals reach the SDK
# as 403 with a message naming the missing permission
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def operator_session(ctlcloud, env):
    """A ServerOperator of the account, created with `ctlcloud admin` on the data directory."""
    subprocess.run(
        [ctlcloud.binary, "admin", "--data-dir", str(ctlcloud.data_dir), "user", "create",
         "--account", env.alias, "--username", "oper", "--role", "ServerOperator", "--password-stdin"],
        input="0per-Passw0rd\n", text=True, capture_output=True, check=True,
    )
    return clc.v2.get_session("oper", "0per-Passw0rd")


class TestRoles:
    def test_operator_reads_the_group_tree(self, operator_session):
        d = clc.v2.Datacenter(session=operator_session)
        assert d.Groups().Get("Default Group").name == "Default Group"

    def test_operator_may_not_create_a_group(self, operator_session):
        root = clc.v2.Datacenter(session=operator_session).RootGroup()
        with pytest.raises(clc.APIFailedResponse) as ei:
            root.Create("not-allowed")
        assert_api_error(ei, 403)
        assert "servers.manage" in ei.value.response_json["message"]


# --------------------------------------------------------------------------
# data centers
# --------------------------------------------------------------------------


class TestDatacenter:
    def test_default_datacenter(self, dc, env):
        assert dc.id == env.dc
        assert str(dc) == env.dc
        assert isinstance(dc.name, str) and dc.name

    def test_root_group_link(self, dc, env):
        assert dc.root_group_name == env.root_group_name
        assert HEX32.match(dc.root_group_id), dc.root_group_id

    def test_datacenter_list(self, dc, env):
        found = {d.id: d for d in clc.v2.Datacenter.Datacenters()}
        assert env.dc in found, sorted(found)
        assert found[env.dc].name == dc.name
        assert found[env.dc].root_group_id == dc.root_group_id

    def test_capability_flags(self, dc):
        assert isinstance(dc.supports_premium_storage, bool)
        assert isinstance(dc.supports_shared_load_balancer, bool)

    def test_alias_and_location_case_insensitive(self, dc, env):
        lower = clc.v2.Datacenter(alias=env.alias.lower(), location=env.dc.lower())
        assert lower.root_group_id == dc.root_group_id
        assert lower.name == dc.name


# --------------------------------------------------------------------------
# account
# --------------------------------------------------------------------------


class TestAccount:
    def test_account(self, env):
        a = clc.v2.Account()
        assert str(a) == env.alias
        assert a.account_alias == env.alias
        assert a.primary_data_center == env.dc
        assert "parentAlias" in a.data

    def test_primary_datacenter(self, env):
        d = clc.v2.Account().PrimaryDatacenter()
        assert d.id == env.dc
        assert d.root_group_name == env.root_group_name

    def test_lower_case_alias(self, env):
        assert clc.v2.Account(alias=env.alias.lower()).account_alias == env.alias


# --------------------------------------------------------------------------
# groups
# --------------------------------------------------------------------------


def walk(group):
    """(parent, child) pairs for the whole tree below `group`, via the SDK."""
    for child in group.Subgroups().groups:
        yield group, child
        yield from walk(child)


class TestGroups:
    def test_root_group(self, dc, env):
        root = dc.RootGroup()  # GET + the SDK's strict changeInfo date parsing
        assert str(root) == env.root_group_name
        assert root.id == dc.root_group_id
        assert isinstance(root.created_date, int)
        assert isinstance(root.modified_date, int)
        assert root.location_id == env.dc

    def test_default_group_under_root(self, dc):
        groups = dc.Groups()
        assert "Default Group" in [g.name for g in groups.groups]
        d = groups.Get("Default Group")  # compares id, name, description.lower()
        assert HEX32.match(d.id), d.id
        assert d.id in [g.id for g in groups.Search("default")]

    def test_group_tree_shape(self, dc):
        root = dc.RootGroup()
        pairs = list(walk(root))
        assert pairs
        for parent, g in pairs:
            assert HEX32.match(g.id), g.id
            assert isinstance(g.name, str) and g.name
            # Groups.Get/Search call .lower() on it; the SDK crashes on null.
            assert isinstance(g.data.get("description"), str), g.data
            assert isinstance(g.type, str) and g.type
            assert isinstance(g.groups, list)
            # Group.__getattr__ falls back to changeInfo for missing keys.
            for key in ("createdDate", "modifiedDate"):
                assert ZULU.match(g.data["changeInfo"][key]), g.data["changeInfo"]
                clc.v2.time_utils.ZuluTSToSeconds(g.data["changeInfo"][key])
            assert link(g, "parentGroup")["id"] == parent.id

    def test_default_group_reads_back(self, default_group, dc):
        g = clc.v2.Group(default_group.id)
        assert g.name == "Default Group"
        assert isinstance(g.created_date, int)
        assert link(g, "parentGroup")["id"] == dc.root_group_id

    def test_create_group(self, dc):
        root = dc.RootGroup()
        g = root.Create("Compat Tests", "made by the compat suite")  # form-encoded POST
        assert HEX32.match(g.id), g.id
        assert str(g) == "Compat Tests"
        assert g.description == "made by the compat suite"
        assert ZULU.match(g.created_date), g.created_date  # create answers a full entity

        back = clc.v2.Group(g.id)
        assert back.name == "Compat Tests"
        assert back.description == "made by the compat suite"
        assert isinstance(back.created_date, int)
        assert link(back, "parentGroup")["id"] == root.id
        assert back.groups == []

        assert clc.v2.Group(root.id).Subgroups().Get("Compat Tests").id == g.id

    def test_create_nested_group_default_description(self, default_group):
        g = default_group.Create("compat-nodesc")  # SDK sends description = name
        assert clc.v2.Group(g.id).description == "compat-nodesc"
        child = g.Create("compat-child", "nested")
        assert clc.v2.Group(g.id).Subgroups().Get("compat-child").id == child.id
        # and the nested tree as seen from the parent
        tree = clc.v2.Group(default_group.id).Subgroups().Get("compat-nodesc")
        assert tree.Subgroups().Get("compat-child").id == child.id

    def test_unknown_group_is_404(self, env):
        with pytest.raises(clc.APIFailedResponse) as ei:
            clc.v2.Group("0" * 32)
        assert_api_error(ei, 404)

    def test_create_under_unknown_parent_fails(self, env):
        ghost = clc.v2.Group("f" * 32, group_obj={"id": "f" * 32, "name": "ghost"})
        with pytest.raises(clc.APIFailedResponse) as ei:
            ghost.Create("orphan")
        assert_api_error(ei, 400, 404)


# --------------------------------------------------------------------------
# templates
# --------------------------------------------------------------------------


class TestTemplates:
    def test_expected_templates(self, dc):
        ids = [t.id for t in dc.Templates().templates]
        for name in TEMPLATES:
            assert name in ids, ids

    def test_search(self, dc):
        rhel = dc.Templates().Search("RHEL")
        assert "RHEL-6-64-TEMPLATE" in [t.id for t in rhel]
        assert all("rhel" in t.id.lower() for t in rhel)
        assert [t.id for t in dc.Templates().Search("centos-7")] == ["CENTOS-7-64-TEMPLATE"]
        assert dc.Templates().Search("no-such-os") == []

    def test_template_fields(self, dc):
        t = dc.Templates().Get("CENTOS-7-64-TEMPLATE")
        assert t is not None
        assert t.name == t.id
        assert isinstance(t.description, str) and t.description
        assert type(t.storageSizeGB) is int and t.storageSizeGB > 0
        assert isinstance(t.capabilities, list)
        assert isinstance(t.reservedDrivePaths, list)


# --------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------


class TestNetworks:
    def test_deployable_networks(self, dc, env):
        nets = dc.Networks().networks
        assert nets
        for n in nets:
            assert HEX32.match(n.id), n.id
            assert n.alias.upper() == env.alias  # built from accountID
            assert isinstance(n.name, str) and n.name
            assert n.data["type"] == "private"

    def test_experimental_list_covers_deployable(self, dc):
        full = dc.Networks(forced_load=True)  # GET /v2-experimental/networks/{alias}/{dc}
        ids = {n.id for n in full.networks}
        assert {n.id for n in dc.Networks().networks} <= ids
        for n in full.networks:
            cidr = ipaddress.ip_network(n.cidr)
            assert ipaddress.ip_address(n.gateway) in cidr
            assert full.Get(n.cidr).id == n.id
            assert full.Get(n.name).id == n.id

    def test_network_by_id(self, dc):
        first = dc.Networks().networks[0]
        n = clc.v2.Network(first.id)  # GET /v2-experimental/networks/{alias}/{dc}/{id}
        assert n.name == first.name
        ipaddress.ip_network(n.cidr)

    def test_unknown_network(self, env):
        with pytest.raises(clc.CLCException, match="Network does not exist"):
            clc.v2.Network("0" * 32)


# --------------------------------------------------------------------------
# servers: create two in parallel, inspect, delete
# --------------------------------------------------------------------------

STEM = "web"  # -> WA1DEMOWEB01 / WA1DEMOWEB02
SPECS = [
    dict(description="compat web one", cpu=1, memory=2, template="CENTOS-7-64-TEMPLATE", password="Compat#Pass-1"),
    dict(description="compat web two", cpu=2, memory=4, template="UBUNTU-16-64-TEMPLATE", password=None),
]


class Queued:
    def __init__(self, network_id, parts):
        self.network_id = network_id
        self.parts = parts  # one Requests per Server.Create, in SPECS order
        self.combined = parts[0] + parts[1]  # Requests objects add up


@pytest.fixture(scope="class")
def queued(dc, default_group):
    network_id, parts = create_servers(dc, default_group, STEM, SPECS)
    return Queued(network_id, parts)


@pytest.fixture(scope="class")
def built(queued):
    done = wait_ok(queued.combined, len(SPECS))
    # Request.Server() follows the create response's self (uuid) link.
    return [req.Server() for req in done]


def by_spec(servers, spec):
    found = [s for s in servers if s.description == spec["description"]]
    assert len(found) == 1, [(s.name, s.description) for s in servers]
    return found[0]


class TestServerLifecycle:
    def test_create_is_queued(self, queued, env):
        ids = []
        for part in queued.parts:
            assert len(part.requests) == 1
            req = part.requests[0]
            ids.append(req.id)
            assert re.match(r"^%s-\d+$" % env.dc.lower(), req.id), req.id
            # The SDK treats `server` <= 8 chars + a /v2/servers/ link as a new build.
            assert req.context_key == "newserver", (req.context_key, req.context_val)
            assert "uuid=" in req.context_val.lower(), req.context_val
        assert len(set(ids)) == 2

    def test_new_server_resolvable_before_build_finishes(self, queued):
        names = set()
        for part in queued.parts:
            s = part.requests[0].Server()
            names.add(s.name)
            assert s.status in ("underConstruction", "active"), s.status
        assert names == {"WA1DEMOWEB01", "WA1DEMOWEB02"}

    def test_both_builds_succeed(self, built):
        assert sorted(s.name for s in built) == ["WA1DEMOWEB01", "WA1DEMOWEB02"]
        for s in built:
            assert s.id == s.name  # id comes from the uuid GET, name from GET by id

    def test_status_and_power(self, built):
        for s in built:
            assert s.status == "active"
            assert s.power_state == "started"
            assert s.in_maintenance_mode is False

    def test_sizes(self, built):
        for spec in SPECS:
            s = by_spec(built, spec)
            assert type(s.cpu) is int and s.cpu == spec["cpu"]
            assert s.memory == spec["memory"]  # SDK: memoryMB // 1024
            assert type(s.memoryMB) is int and s.memoryMB == spec["memory"] * 1024

    def test_placement(self, built, default_group, env):
        for spec in SPECS:
            s = by_spec(built, spec)
            assert s.group_id == default_group.id
            assert str(s.Group()) == "Default Group"
            assert s.location_id == env.dc
            assert s.type == "standard"
            assert s.storage_type == "standard"
            assert s.is_template is False
            assert isinstance(s.os_type, str) and s.os_type
            assert str(s.Account()) == env.alias

    def test_change_info(self, built):
        for s in built:
            # Refresh() converts these with "%Y-%m-%dT%H:%M:%SZ" and silently
            # keeps the string when that fails.
            assert isinstance(s.created_date, int), s.created_date
            assert isinstance(s.modified_date, int), s.modified_date
            assert abs(time.time() - s.created_date) < 3600
            assert isinstance(s.created_by, str) and s.created_by

    def test_ip_addresses(self, built, queued):
        cidr = ipaddress.ip_network(clc.v2.Network(queued.network_id).cidr)
        seen = set()
        for s in built:
            assert s.ip_addresses, "no ipAddresses on a built server"
            internal = s.ip_addresses[0]["internal"]
            assert ipaddress.ip_address(internal) in cidr
            seen.add(internal)
            assert not any(a.get("public") for a in s.ip_addresses)
            # PublicIPs() takes every entry that *has* a public key (even null).
            assert s.PublicIPs().public_ips == []
        assert len(seen) == 2

    def test_disks(self, built, dc):
        for spec in SPECS:
            s = by_spec(built, spec)
            disks = s.Disks().disks
            assert disks
            assert len({d.id for d in disks}) == len(disks)
            for d in disks:
                assert re.match(r"^\d+:\d+$", d.id), d.id
                assert type(d.size) is int and d.size > 0
                assert isinstance(d.partition_paths, list)
            assert s.disk_count == len(disks)
            assert s.storage == sum(d.size for d in disks)
            assert s.storage >= dc.Templates().Get(spec["template"]).storageSizeGB

    def test_empty_collections(self, built):
        for s in built:
            assert s.GetSnapshots() == []
            assert s.Alerts().alerts == []
            assert s.custom_fields == []

    def test_credentials(self, built):
        one = by_spec(built, SPECS[0]).Credentials()  # GET .../{name}/credentials
        assert one["userName"] == "root"
        assert one["password"] == SPECS[0]["password"]
        two = by_spec(built, SPECS[1]).Credentials()
        assert two["userName"] == "root"
        assert isinstance(two["password"], str) and two["password"]  # generated
        assert two["password"] != one["password"]

    def test_lookup_is_case_insensitive(self, built, env):
        for s in built:
            assert clc.v2.Server(s.name.lower()).name == s.name
            assert clc.v2.Server(s.name, alias=env.alias.lower()).name == s.name

    def test_group_lists_servers(self, built, default_group):
        g = clc.v2.Group(default_group.id)
        listed = [i.upper() for i in g.Servers().servers_lst]  # links rel=server
        for s in built:
            assert s.name in listed, listed
        assert {s.name for s in built} <= {x.name for x in g.Servers().Servers()}

    def test_queue_status_stays_readable(self, built, queued):
        for part in queued.parts:
            for req in part.requests:
                assert req.Status() == "succeeded"  # a fresh GET each time

    def test_delete(self, built, default_group):
        reqs = sum(s.Delete() for s in built)
        wait_ok(reqs, len(built))
        for s in built:
            with pytest.raises(clc.CLCException, match="Server does not exist"):
                clc.v2.Server(s.name)
        listed = [i.upper() for i in clc.v2.Group(default_group.id).Servers().servers_lst]
        for s in built:
            assert s.name not in listed


# --------------------------------------------------------------------------
# servers: a build that fails (the server's simulated driver fails builds of
# names containing env.fail_marker)
# --------------------------------------------------------------------------


class TestFailedBuild:
    def test_failed_build_is_reported_by_both_waiters(self, dc, default_group, env):
        spec = dict(description="compat doomed", cpu=1, memory=1, template="CENTOS-7-64-TEMPLATE")
        _, (reqs,) = create_servers(dc, default_group, env.fail_marker.lower(), [spec])
        errors = reqs.WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S)
        assert errors == 1
        assert reqs.success_requests == []
        (req,) = reqs.error_requests
        assert req.Status() == "failed"  # terminal, not unknown/resumed
        # The single-request waiter raises on a failed job.
        with pytest.raises(clc.CLCException, match="failed"):
            req.WaitUntilComplete(poll_freq=POLL_S, timeout=WAIT_S)


# --------------------------------------------------------------------------
# servers: errors
# --------------------------------------------------------------------------


class TestServerErrors:
    def test_unknown_server(self, env):
        with pytest.raises(clc.CLCException, match="Server does not exist"):
            clc.v2.Server("WA1DEMONOPE01")

    def _create(self, dc, group_id, **overrides):
        args = dict(
            name="bad",
            template="CENTOS-7-64-TEMPLATE",
            group_id=group_id,
            network_id=dc.Networks().networks[0].id,
            cpu=1,
            memory=1,
        )
        args.update(overrides)
        return clc.v2.Server.Create(**args)

    def test_unknown_template(self, dc, default_group):
        with pytest.raises(clc.APIFailedResponse) as ei:
            self._create(dc, default_group.id, template="NO-SUCH-TEMPLATE")
        assert_api_error(ei, 400)

    def test_name_too_long(self, dc, default_group):
        # alias DEMO (4) + 7 chars > 10
        with pytest.raises(clc.APIFailedResponse) as ei:
            self._create(dc, default_group.id, name="toolong")
        assert_api_error(ei, 400)

    def test_cpu_out_of_range(self, dc, default_group):
        with pytest.raises(clc.APIFailedResponse) as ei:
            self._create(dc, default_group.id, cpu=17)
        assert_api_error(ei, 400)

    def test_unknown_group(self, dc):
        with pytest.raises(clc.APIFailedResponse) as ei:
            self._create(dc, "0" * 32)
        assert_api_error(ei, 400, 404)


# --------------------------------------------------------------------------
# day two (not served yet: these endpoints answer 501 today)
#   power ops   Server.PowerOff()/PowerOn()/Pause()/ShutDown()/Reboot()/Reset(),
#               Servers([...]).PowerOn(), "already in desired state" no-ops
#   PATCH       Server.Change(cpu=, memory=, description=, group_id=),
#               SetPassword(), Disks().Add()/Grow()/Delete()
#   public IPs  PublicIPs().Add(ports=[...]), PublicIP.Update()/Delete()
#   snapshots   CreateSnapshot()/RestoreSnapshot()/DeleteSnapshot()
#   capabilities server.reserved_drive_paths, PriceUnits(), Group.Delete()
# Build servers for those with create_servers() + wait_ok() and a fresh stem.
# --------------------------------------------------------------------------
