"""``hearth serve``: Hearth's OpenAI-compatible API on loopback (uvicorn).

It binds 127.0.0.1 by default. Any other address needs a token (--token, or one made up
and printed once), since the API reads the user's documents. A request's Host header must
name the address listened on, ``localhost`` or a name given with --allowed-host (a
DNS-rebinding page reaches loopback under its own name); an all-interfaces bind answers
any Host behind its token. The default model loads and the index opens before the first
request is accepted; the address printed is the one bound (so --port 0 takes a free port
and says which).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
import sys
from collections.abc import Iterable
from typing import TextIO

from hearth.errors import HearthError
from hearth.jobs import ProgressCallback

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_WAITING = 16
GRACEFUL_SHUTDOWN_SECONDS = 5


class ServeError(HearthError):
    """The server cannot start (the address is taken, not valid)."""


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may well resolve to a public address


def host_name(host: str) -> str:
    """The name part of a Host header or address, as compared: no port or brackets, lower
    case, no trailing dot, an IP address in its short form ("[::1]:8765" -> "::1")."""
    name = host.strip()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    name = name.lower().rstrip(".")
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return name


def is_wildcard(host: str) -> bool:
    """Whether ``host`` means every interface (0.0.0.0, ::)."""
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_unspecified
    except ValueError:
        return False


def allowed_hosts(host: str, bound: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The names a request's Host header may carry: the address as given and as bound,
    localhost, and ``extra`` (--allowed-host). None for an all-interfaces bind: any name
    (reached by whatever address, it needs the token anyway)."""
    if is_wildcard(host):
        return None
    given = list(extra)
    for name in given:
        if not host_name(name) or any(c.isspace() or c in "/@?#" for c in name):
            raise ServeError(f"--allowed-host {name!r}: give a host name or address, nothing else")
    return frozenset(host_name(name) for name in (host, bound, "localhost", *given))


def resolve_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """The token requests must carry (None: none needed), and whether it was made up here.
    Loopback needs none unless one is given; any other address always needs one."""
    if token:
        return token, False
    if is_loopback(host):
        return None, False
    return secrets.token_urlsafe(24), True


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port} ({error.strerror or error})") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    max_waiting: int = DEFAULT_MAX_WAITING,
    progress: ProgressCallback | None = None,
    out: TextIO = sys.stdout,
    extra_hosts: Iterable[str] = (),
    chroma_url: str | None = None,
) -> int:
    """Serve until Ctrl+C or SIGTERM; the caller holds the data folder's instance lock.
    ``chroma_url``: the index's chromadb server (--chroma-url; see Workspace)."""
    import uvicorn

    from hearth.assistant.workspace import Workspace
    from hearth.index.embedder import Embedder
    from hearth.server.app import create_app
    from hearth.server.service import HearthService

    if max_waiting < 0:
        raise ServeError("--max-queue must be 0 or more")
    token, made_up = resolve_token(host, token)
    sock = bind_socket(host, port)
    try:
        hosts = allowed_hosts(host, str(sock.getsockname()[0]), extra_hosts)
    except BaseException:
        sock.close()
        raise
    embedder = Embedder()
    workspace = Workspace(embedder=embedder, chroma_url=chroma_url)
    try:
        lookup_index = workspace.open_index(embedder)
    except BaseException:
        sock.close()
        workspace.close()
        raise
    service = HearthService(workspace, lookup_index, max_waiting)
    try:
        model = service.start(progress)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        print(f"Hearth serves {model.id} at http://{shown}:{bound_port}/v1", file=out, flush=True)
        if made_up:
            print(
                f"Token (shown only now; send 'Authorization: Bearer <token>'): {token}",
                file=out,
                flush=True,
            )
        config = uvicorn.Config(
            create_app(service, token, hosts),
            log_level="warning",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            lifespan="off",
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        service.workspace.engine.cancel()  # an answer still running stops within a token
        service.close()
        sock.close()
    return 0
