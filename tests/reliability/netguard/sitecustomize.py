"""Loaded by every Python process started with this folder on PYTHONPATH (tests only).

Any connection to, or name lookup of, anything but this machine raises and is recorded in
the file named by HEARTH_NETGUARD_LOG, so a test can see it even if the code under test
swallowed the error.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    # typeshed's names for what socket.connect takes and socket.getaddrinfo returns (stub
    # only: they do not exist at run time), and the C class that defines connect.
    from _socket import socket as _RawSocket
    from socket import _Address, _GetAddrInfoResult

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "", None}
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_getaddrinfo = socket.getaddrinfo
_original_gethostbyname = socket.gethostbyname


def _record(what: str) -> NoReturn:
    path = os.environ.get("HEARTH_NETGUARD_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {what}\n")
    raise OSError(f"network access blocked by the Hearth privacy test: {what}")


def _is_loopback(host: object) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    return isinstance(host, str) and (host.startswith("127.") or host == "::1")


def _check_address(sock: _RawSocket, address: _Address) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        _record(f"connect {address!r}")


def connect(self: _RawSocket, address: _Address) -> None:
    _check_address(self, address)
    return _original_connect(self, address)


def connect_ex(self: _RawSocket, address: _Address) -> int:
    _check_address(self, address)
    return _original_connect_ex(self, address)


def getaddrinfo(host: bytes | str | None, *args: Any, **kwargs: Any) -> _GetAddrInfoResult:
    if not _is_loopback(host.decode() if isinstance(host, bytes) else host):
        _record(f"getaddrinfo {host!r}")
    return _original_getaddrinfo(host, *args, **kwargs)


def gethostbyname(host: str) -> str:
    if not _is_loopback(host):
        _record(f"gethostbyname {host!r}")
    return _original_gethostbyname(host)


# Patching the class is the point: every socket made in this process goes through the guard.
socket.socket.connect = connect  # type: ignore[method-assign]
socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
