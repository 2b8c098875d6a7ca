"""Loopback-only guard for every Python process of the test run.

Installs a ``sys.addaudithook`` that refuses (``PermissionError``) and records any
socket ``connect``/``sendto``/``bind`` to, and any name lookup of, something other
than a loopback address or ``localhost``: binding all interfaces (``""``,
``0.0.0.0``, ``::``) counts too. Records go to the file named by
``DOPE_NETGUARD_LOG`` (one line per attempt, with the process id and command line);
``test/conftest.py`` fails the run when that file is not empty. Unix and netlink
sockets are not concerned.

Loaded in the pytest process by ``test/conftest.py`` and, through ``sitecustomize.py``
of this folder (put first on ``PYTHONPATH``), in every Python subprocess the tests
start. C/C++ code (Fast DDS, gloo) does not go through Python's ``socket`` module:
for it the ROS environment variables and the Fast DDS profile keep traffic on
loopback, and ``strace -f -e trace=network`` is the check (see the README).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_INSTALLED = False


def is_loopback(host: object) -> bool:
    """Whether ``host`` (a name or an address; ``None`` means a local passive address) is loopback only."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    text = str(host).split("%")[0]
    if text.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def _record(what: str) -> None:
    line = f"pid {os.getpid()} ({' '.join(sys.argv)[:200]}): {what}\n"
    path = os.environ.get("DOPE_NETGUARD_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line)
    raise PermissionError(f"dope test network guard: {what} (only loopback is allowed in tests)")


def _hook(event: str, args: tuple) -> None:
    if not event.startswith("socket."):
        return
    if event in ("socket.connect", "socket.sendto", "socket.bind"):
        sock, address = args[0], args[1]
        family = getattr(sock, "family", None)
        if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and address:
            if not is_loopback(address[0]):
                _record(f"{event.split('.')[1]} {address!r}")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        if not is_loopback(args[0]):
            _record(f"{event.split('.')[1]} {args[0]!r}")
    elif event == "socket.getnameinfo":
        sockaddr = args[0]
        if isinstance(sockaddr, tuple) and sockaddr and not is_loopback(sockaddr[0]):
            _record(f"getnameinfo {sockaddr!r}")


def install() -> None:
    """Install the audit hook once per process."""
    global _INSTALLED
    if not _INSTALLED:
        sys.addaudithook(_hook)
        _INSTALLED = True


install()
