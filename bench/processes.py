"""Server processes on loopback, for the benchmarks and the tests: ``hearth serve``,
llama-cpp-python's server (through Hearth's wrapper) and ``chroma run``, each started,
waited for until it answers, and stopped (SIGTERM, then SIGKILL) or killed. Every server
binds 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"
START_SECONDS = 300.0  # a model load and the embedder on a busy 2-core machine
STOP_SECONDS = 30.0
SERVING_LINE = re.compile(r"Hearth serves \S+ at (http://\S+/v1)")


# -- servers on loopback ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


class ServerProcess:
    """One server process at ``url``, ready when ``ready()`` says so. ``stop`` ends it
    (SIGTERM, then SIGKILL), ``kill`` at once; ``start`` again restarts it."""

    def __init__(
        self,
        command: list[str],
        log: Path,
        url: str = "",
        ready: Callable[[], bool] | None = None,
        env: dict[str, str] | None = None,
        start_seconds: float = START_SECONDS,
    ) -> None:
        self.command = command
        self.log = log
        self.url = url
        self.ready = ready or (lambda: answers(self.url))
        self.env = env
        self.start_seconds = start_seconds
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ServerProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + self.start_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[:4]} exited early:\n{self.log_tail()}")
            if self.ready():
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.command[:4]} not ready in time:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_SECONDS)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def running(server: ServerProcess) -> Iterator[ServerProcess]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def llama_cpp_server_command(
    model: Path, port: int, host: str = "127.0.0.1", n_ctx: int = 4096, *extra: str
) -> list[str]:
    """The command that starts llama-cpp-python's server on ``model`` through Hearth's
    wrapper (``python -m hearth.engine.remote``, which loads the CPU backend first)."""
    return [
        sys.executable,
        "-m",
        "hearth.engine.remote",
        "--model",
        str(model),
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        *extra,
    ]


def llama_cpp_server(model: Path, log: Path, port: int | None = None) -> ServerProcess:
    """llama-cpp-python's server on ``model`` (4096 tokens of context, Hearth's default)
    through Hearth's wrapper; its url is the /v1 base URL."""
    port = port or free_port()
    url = f"http://{LOOPBACK}:{port}/v1"
    command = llama_cpp_server_command(model, port, LOOPBACK, 4096, "--n_threads", "2")
    return ServerProcess(command, log, url, lambda: answers(f"{url}/models"))


def chroma_server(folder: Path, log: Path) -> ServerProcess:
    """``chroma run`` on ``folder``; started again, it comes back on the same port and data."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    chroma = str(Path(sys.executable).with_name("chroma"))
    command = [chroma, "run", "--path", str(folder), "--host", LOOPBACK, "--port", str(port)]
    return ServerProcess(command, log, url, lambda: answers(f"{url}/api/v2/heartbeat"), None, 60)


def hearth_server(log: Path, *options: str, env: dict[str, str] | None = None) -> ServerProcess:
    """``hearth serve --port 0 OPTIONS`` (in $HEARTH_HOME, or env's); its url is the /v1
    base URL the server prints once its model is loaded."""
    command = [sys.executable, "-m", "hearth", "serve", "--port", "0", *options]
    server = ServerProcess(command, log, env={**os.environ, **(env or {})})

    def printed_url() -> bool:
        text = log.read_text("utf-8", errors="replace") if log.exists() else ""
        found = SERVING_LINE.search(text)
        if found:
            server.url = found.group(1)
        return found is not None

    server.ready = printed_url
    return server
