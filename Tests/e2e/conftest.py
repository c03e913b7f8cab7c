"""Fixtures for the end-to-end suite: the real hookhost binary, a functions dir, hosts.

Run from the repo root:  .build/venv/bin/pytest Tests/e2e      (binary: $HOOKHOST_BIN or .build/debug/hookhost)
"""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hostlib import Functions, Host, hookhost_bin  # noqa: E402


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session", autouse=True)
def binary():
    b = hookhost_bin()
    if not (b.is_file() and os.access(b, os.X_OK)):
        pytest.exit(f"hookhost binary not found at {b} (set HOOKHOST_BIN or build it first)", returncode=2)
    return b


@pytest.fixture
def fns(tmp_path) -> Functions:
    return Functions(tmp_path)


@pytest.fixture
def make_host(tmp_path, fns, request):
    """make_host(secrets=..., start=True, extra_args=..., env=...) -> Host. Every host is stopped at teardown;
    if the test failed, the tail of each host's log is printed."""
    hosts: list[Host] = []

    def make(secrets=None, start=True, extra_args=(), env=None, root=None, path="/webhooks") -> Host:
        h = Host(root or (tmp_path / f"host{len(hosts)}" if hosts else tmp_path), functions=fns,
                 secrets=secrets, path=path)
        hosts.append(h)
        if start:
            h.start(extra_args, env)
        return h

    yield make

    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for h in hosts:
        if failed:
            print(f"--- hookhost log ({h.log_path}) ---\n{h.log_tail(60)}")
        try:
            h.stop(timeout=10)
        except AssertionError as e:  # a host that ignores SIGTERM is reported by the tests that care
            print(f"teardown: {e}")


@pytest.fixture
def host(make_host) -> Host:
    return make_host()
