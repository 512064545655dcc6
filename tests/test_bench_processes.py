"""The server-process harness that the benchmarks and the server tests share
(bench/processes.py): started until ready, stopped, killed, and the commands it runs."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench import processes
from bench.processes import (
    LOOPBACK,
    ServerProcess,
    answers,
    free_port,
    hearth_server,
    llama_cpp_server,
    llama_cpp_server_command,
    running,
)


def http_server(folder: Path, log: Path) -> ServerProcess:
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", LOOPBACK]
    return ServerProcess(command, log, f"http://{LOOPBACK}:{port}/", start_seconds=30)


def python_process(
    code: str, log: Path, ready_word: str, start_seconds: float = 30.0
) -> ServerProcess:
    """A Python process that prints ``ready_word`` when it is ready."""
    return ServerProcess(
        [sys.executable, "-u", "-c", code],
        log,
        ready=lambda: log.exists() and ready_word in log.read_text("utf-8"),
        start_seconds=start_seconds,
    )


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket() as sock:
        sock.bind((LOOPBACK, port))


def test_running_starts_a_server_until_it_answers_then_stops_it(tmp_path: Path) -> None:
    server = http_server(tmp_path, tmp_path / "http.log")
    assert not server.alive
    with running(server) as started:
        assert started is server
        assert server.alive
        assert answers(server.url)
    assert not server.alive
    assert server.process is not None
    assert server.process.returncode == -signal.SIGTERM
    assert not answers(server.url)


def test_a_server_that_exits_early_is_reported_with_its_log(tmp_path: Path) -> None:
    server = python_process(
        "import sys; print('no model here'); sys.exit(3)", tmp_path / "early.log", "never"
    )
    with pytest.raises(RuntimeError, match="exited early") as raised:
        server.start()
    assert "no model here" in str(raised.value)
    assert not server.alive


def test_a_server_never_ready_is_stopped_and_reported(tmp_path: Path) -> None:
    server = python_process(
        "import time; print('starting'); time.sleep(60)",
        tmp_path / "slow.log",
        "never",
        start_seconds=0.5,  # it prints "starting" within milliseconds
    )
    with pytest.raises(RuntimeError, match="not ready in time") as raised:
        server.start()
    assert "starting" in str(raised.value)
    assert not server.alive


def test_stop_kills_a_server_that_ignores_sigterm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "STOP_SECONDS", 0.3)  # SIGTERM is ignored before "up"
    server = python_process(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up')\n"
        "time.sleep(60)\n",
        tmp_path / "stubborn.log",
        "up",
    )
    server.start()
    server.stop()
    assert server.process is not None
    assert server.process.returncode == -signal.SIGKILL


def test_kill_ends_the_server_at_once_and_start_brings_it_back(tmp_path: Path) -> None:
    server = http_server(tmp_path, tmp_path / "http.log")
    with running(server):
        first = server.process
        server.kill()
        assert first is not None
        assert first.returncode == -signal.SIGKILL
        assert not server.alive
        server.start()
        assert server.alive
        assert server.process is not first
        assert answers(server.url)
    assert not server.alive


def test_hearth_server_is_ready_when_it_prints_its_url(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    server = hearth_server(log, "--max-queue", "4", env={"HEARTH_HOME": str(tmp_path)})
    assert server.command[1:] == ["-m", "hearth", "serve", "--port", "0", "--max-queue", "4"]
    assert server.env is not None
    assert server.env["HEARTH_HOME"] == str(tmp_path)
    assert not server.ready()
    log.write_text("loading the model\n", "utf-8")
    assert not server.ready()
    log.write_text("loading the model\nHearth serves qwen at http://127.0.0.1:41234/v1\n")
    assert server.ready()
    assert server.url == "http://127.0.0.1:41234/v1"


def test_llama_cpp_server_runs_hearths_wrapper_on_loopback(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    server = llama_cpp_server(model, tmp_path / "llama.log", port=41235)
    assert server.url == "http://127.0.0.1:41235/v1"
    assert server.command == llama_cpp_server_command(
        model, 41235, LOOPBACK, 4096, "--n_threads", "2"
    )
    assert server.command[:3] == [sys.executable, "-m", "hearth.engine.remote"]
    options = dict(zip(server.command[3::2], server.command[4::2], strict=True))
    assert options == {
        "--model": str(model),
        "--host": LOOPBACK,
        "--port": "41235",
        "--n_ctx": "4096",
        "--n_threads": "2",
    }


def test_the_wrapper_takes_llama_cpp_servers_options() -> None:
    """The command runs: the wrapper loads the CPU backend and hands its arguments to
    llama-cpp-python's server, whose own help lists the options the harness passes."""
    completed = subprocess.run(
        [*llama_cpp_server_command(Path("unused.gguf"), 1, LOOPBACK)[:3], "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    for option in ("--model", "--host", "--port", "--n_ctx", "--n_threads"):
        assert option in completed.stdout
