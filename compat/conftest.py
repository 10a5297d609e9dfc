"""Fixtures for the clc-sdk compatibility suite.

Starts a real `ctlcloud serve` on a free loopback port with a throw-away data
directory, points the (unmodified) Python clc-sdk at it and logs in the way a
user would (`clc.v2.SetCredentials`).

Environment:
  CTLCLOUD_BIN                  server binary (default: <repo>/target/debug/ctlcloud)
  CTLCLOUD_COMPAT_TEST_TIMEOUT  per-test wall-clock budget in seconds (default 180)
  CTLCLOUD_COMPAT_TRACE         if set, every HTTP exchange the SDK made is written
                                there as JSON lines at the end of the session

No import shim is needed: clc-sdk 2.51 imports and runs on Python 3.11 as is
(see requirements.txt for the pins).
"""

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

import clc

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "ctlcloud"

ALIAS = "DEMO"
DC = "WA1"
USERNAME = "admin"
PASSWORD = "Compat-Pa55word!"
BUILD_DELAY_MS = "200"
# The simulated driver fails builds of servers whose name contains this.
FAIL_MARKER = "FAILME"

STARTUP_DEADLINE_S = 20.0
HTTP_TIMEOUT_S = 30.0
TEST_TIMEOUT_S = int(os.environ.get("CTLCLOUD_COMPAT_TEST_TIMEOUT", "180"))

LISTENING_RE = re.compile(r"ctlcloud listening on (https?://[^\s/]+)")


# --------------------------------------------------------------------------
# HTTP tracing: the SDK lets users supply their own requests session
# (clc.SetRequestsSession). Ours behaves like a plain Session except that it
# applies a client-side timeout and records each exchange, so that failures
# show exactly what was sent and what came back.
# --------------------------------------------------------------------------

TRACE = []  # list of dicts, in call order


def _text(body, limit=4000):
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return body if len(body) <= limit else body[:limit] + "...<truncated>"


class TracingSession(requests.Session):
    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT_S)
        entry = {"method": method, "url": url}
        try:
            resp = super().request(method, url, **kwargs)
        except Exception as exc:  # connection refused, timeout, ...
            entry["error"] = repr(exc)
            TRACE.append(entry)
            raise
        req = resp.request
        entry.update(
            url=req.url,
            request_content_type=req.headers.get("Content-Type"),
            request_body=_text(req.body),
            status=resp.status_code,
            response_content_type=resp.headers.get("Content-Type"),
            response_body=_text(resp.text),
        )
        TRACE.append(entry)
        return resp


def _format_trace(entries):
    lines = []
    for e in entries:
        lines.append("%s %s" % (e["method"], e["url"]))
        if e.get("request_body"):
            lines.append("  > [%s] %s" % (e.get("request_content_type"), e["request_body"]))
        if "error" in e:
            lines.append("  ! %s" % e["error"])
        else:
            lines.append("  < %s [%s] %s" % (e["status"], e.get("response_content_type"), e.get("response_body")))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------


class ServerProcess:
    def __init__(self, binary, data_dir, log_path):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.output = []  # stdout lines, kept for diagnostics
        self.base_url = None
        self.proc = None
        self._lines = queue.Queue()

    def start(self):
        if not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            raise RuntimeError(
                "ctlcloud binary not found or not executable at %s "
                "(build it first, or set CTLCLOUD_BIN)" % self.binary
            )
        env = dict(os.environ)
        env.update(
            CTLCLOUD_BOOTSTRAP_ALIAS=ALIAS,
            CTLCLOUD_BOOTSTRAP_DC=DC,
            CTLCLOUD_BOOTSTRAP_USERNAME=USERNAME,
            CTLCLOUD_BOOTSTRAP_PASSWORD=PASSWORD,
            CTLCLOUD_SIM_BUILD_DELAY_MS=BUILD_DELAY_MS,
            CTLCLOUD_SIM_FAIL_MARKER=FAIL_MARKER,
        )
        self._stderr = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
            bufsize=1,
            errors="replace",
        )
        # Drain stdout for the whole life of the process so the server never
        # blocks on a full pipe.
        threading.Thread(target=self._drain, name="ctlcloud-stdout", daemon=True).start()

        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError(
                    "ctlcloud did not print 'ctlcloud listening on http://...' within %.0f s\n%s"
                    % (STARTUP_DEADLINE_S, self.diagnostics())
                )
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:  # EOF: the process went away
                code = self.proc.wait(timeout=5)
                raise RuntimeError(
                    "ctlcloud exited (code %s) before it was listening\n%s" % (code, self.diagnostics())
                )
            m = LISTENING_RE.search(line)
            if m:
                self.base_url = m.group(1)
                return self.base_url

    def _drain(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            if self.base_url is None:
                self._lines.put(line)
        self._lines.put(None)

    def stderr_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []
        return lines[-n:]

    def diagnostics(self, n=40):
        return "--- stdout (tail) ---\n%s\n--- stderr (tail) ---\n%s" % (
            "\n".join(self.output[-n:]),
            "\n".join(self.stderr_tail(n)),
        )

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()
        self.proc = None


_SERVER = None  # for failure reports


@pytest.fixture(scope="session")
def ctlcloud(tmp_path_factory):
    """The running server; yields it with `.base_url` set (no /v2 suffix)."""
    global _SERVER
    binary = os.path.abspath(os.environ.get("CTLCLOUD_BIN") or str(DEFAULT_BIN))
    workdir = tmp_path_factory.mktemp("ctlcloud")
    data_dir = workdir / "data"
    data_dir.mkdir()
    server = ServerProcess(binary, data_dir, workdir / "stderr.log")
    _SERVER = server
    try:
        server.start()
        yield server
    finally:
        server.stop()


class Env:
    """What the tests know about the deployment they talk to."""

    alias = ALIAS
    dc = DC
    username = USERNAME
    password = PASSWORD
    root_group_name = "%s Hardware" % DC
    fail_marker = FAIL_MARKER  # a server stem containing it fails to build

    def __init__(self, base_url):
        self.base_url = base_url


@pytest.fixture(scope="session")
def env(ctlcloud):
    """Points the SDK at the server and registers the credentials.

    clc.defaults.ENDPOINT_URL_V2 takes the bare origin: the SDK appends
    /v2/<path> itself (or uses hrefs starting with '/' verbatim).
    """
    clc.defaults.ENDPOINT_URL_V2 = ctlcloud.base_url
    clc.SetRequestsSession(TracingSession())
    clc.v2.SetCredentials(USERNAME, PASSWORD)
    return Env(ctlcloud.base_url)


# --------------------------------------------------------------------------
# Per-test deadline and failure diagnostics
# --------------------------------------------------------------------------


class CompatTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise CompatTimeout("test exceeded %d s (CTLCLOUD_COMPAT_TEST_TIMEOUT)" % TEST_TIMEOUT_S)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    item._trace_start = len(TRACE)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TEST_TIMEOUT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        start = getattr(item, "_trace_start", 0)
        entries = TRACE[start:][-30:]
        if entries:
            report.sections.append(("clc-sdk HTTP exchanges (last %d)" % len(entries), _format_trace(entries)))
        if _SERVER is not None:
            report.sections.append(("ctlcloud output", _SERVER.diagnostics(20)))


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CTLCLOUD_COMPAT_TRACE")
    if path:
        with open(path, "w") as f:
            for e in TRACE:
                f.write(json.dumps(e) + "\n")
