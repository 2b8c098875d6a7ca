"""The network guard of the test run (test/netguard): anything beyond loopback is refused and recorded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

CHILD = """
import socket
results = []
for name, call in [
    ("connect", lambda: socket.socket().connect(("192.0.2.1", 9))),
    ("sendto", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 9))),
    ("bind all", lambda: socket.socket().bind(("", 0))),
    ("bind ::", lambda: socket.socket(socket.AF_INET6).bind(("::", 0))),
    ("resolve", lambda: socket.getaddrinfo("example.com", 80)),
    ("bind lo", lambda: socket.socket().bind(("127.0.0.1", 0))),
    ("resolve localhost", lambda: socket.getaddrinfo("localhost", 80)),
    ("udp lo", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9))),
]:
    try:
        call()
        results.append(f"{name}: allowed")
    except PermissionError:
        results.append(f"{name}: refused")
    except OSError as e:
        results.append(f"{name}: allowed ({type(e).__name__})")
print("|".join(results))
"""


def test_subprocesses_are_guarded(tmp_path):
    log = tmp_path / "guard.log"
    env = {**os.environ, "DOPE_NETGUARD_LOG": str(log)}   # this test's own log: the run's stays clean
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60)
    results = dict(r.split(": ", 1) for r in out.stdout.strip().split("|"))
    assert {k: v for k, v in results.items() if v == "refused"}.keys() == {
        "connect", "sendto", "bind all", "bind ::", "resolve"}, results
    recorded = log.read_text()
    assert "192.0.2.1" in recorded and "example.com" in recorded and recorded.count("\n") == 5


def test_this_process_is_guarded(tmp_path, monkeypatch):
    monkeypatch.setenv("DOPE_NETGUARD_LOG", str(tmp_path / "guard.log"))
    with pytest.raises(PermissionError, match="only loopback"):
        socket.getaddrinfo("example.com", 443)
    assert "example.com" in (tmp_path / "guard.log").read_text()
    assert socket.getaddrinfo("127.0.0.1", 80)


def test_ros_domain_id_is_fresh_whatever_the_environment_says(repo_root):
    code = "import os, sys; sys.path.insert(0, 'test'); import conftest; print(os.environ['ROS_DOMAIN_ID'])"
    env = {**os.environ, "ROS_DOMAIN_ID": "0"}
    env.pop("DOPE_ROS_DOMAIN_ID", None)
    ids = {subprocess.run([sys.executable, "-c", code], env=env, cwd=repo_root, capture_output=True, text=True,
                          timeout=60).stdout.strip() for _ in range(4)}
    assert "0" not in ids and all(1 <= int(i) <= 101 for i in ids)
    env["DOPE_ROS_DOMAIN_ID"] = "42"
    assert subprocess.run([sys.executable, "-c", code], env=env, cwd=repo_root, capture_output=True, text=True,
                          timeout=60).stdout.strip() == "42"
