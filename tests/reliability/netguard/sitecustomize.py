"""Loaded by every Python process started with this folder on PYTHONPATH (tests only).

Any connection to, or name lookup of, anything but this machine raises and is recorded in
the file named by HEARTH_NETGUARD_LOG, so a test can see it even if the code under test
swallowed the error.
"""

import os
import socket

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "", None}
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_getaddrinfo = socket.getaddrinfo
_original_gethostbyname = socket.gethostbyname


def _record(what):
    path = os.environ.get("HEARTH_NETGUARD_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {what}\n")
    raise OSError(f"network access blocked by the Hearth privacy test: {what}")


def _is_loopback(host):
    if host in _LOOPBACK_NAMES:
        return True
    return isinstance(host, str) and (host.startswith("127.") or host == "::1")


def _check_address(sock, address):
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        _record(f"connect {address!r}")


def connect(self, address):
    _check_address(self, address)
    return _original_connect(self, address)


def connect_ex(self, address):
    _check_address(self, address)
    return _original_connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host.decode() if isinstance(host, bytes) else host):
        _record(f"getaddrinfo {host!r}")
    return _original_getaddrinfo(host, *args, **kwargs)


def gethostbyname(host):
    if not _is_loopback(host):
        _record(f"gethostbyname {host!r}")
    return _original_gethostbyname(host)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
