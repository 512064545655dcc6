"""Hearth indexes, answers and opens its window with no network: any connection or name
lookup beyond loopback, in the test process or any child (engine host, probe), fails
loudly and is recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.sample_documents import report_pages, write_pdf

NETGUARD = Path(__file__).parent / "netguard"


@pytest.fixture
def guarded_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    log = tmp_path / "network-attempts.log"
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD), env.get("PYTHONPATH", "")])
    env["HEARTH_NETGUARD_LOG"] = str(log)
    return env, log


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_the_guard_itself_blocks_and_records(guarded_env: tuple[dict[str, str], Path]) -> None:
    env, log = guarded_env
    probe = run(env, "-c", "import socket; socket.create_connection(('192.0.2.1', 443), 1)")
    assert probe.returncode != 0
    assert "blocked by the Hearth privacy test" in probe.stderr
    assert "192.0.2.1" in log.read_text()
    log.unlink()
    lookup = run(env, "-c", "import socket; socket.getaddrinfo('example.org', 443)")
    assert lookup.returncode != 0
    assert "example.org" in log.read_text()


def test_index_ask_summarise_and_window_make_no_network_attempt(
    guarded_env: tuple[dict[str, str], Path], gemma_model: Path, tmp_path: Path
) -> None:
    env, log = guarded_env
    documents = tmp_path / "documents"
    documents.mkdir()
    write_pdf(documents / "report.pdf", report_pages())
    for args in (
        ["-m", "hearth", "index", str(documents), "--json"],
        ["-m", "hearth", "search", "lantern room", "--json"],
        ["-m", "hearth", "ask", "What did the lantern room cost?", "--json"],
        ["-m", "hearth", "summarize", "report.pdf", "--json"],
    ):
        result = run(env, *args)
        assert result.returncode == 0, (args, result.stderr[-2000:])
    # The real window: first start, a document indexed, a question answered.
    shot = run(
        {**env, "QT_QPA_PLATFORM": "offscreen"},
        "-c",
        "import sys; from bench.screenshot import main; "
        f"sys.exit(main(['--out', {str(tmp_path / 'window.png')!r}]))",
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert not log.exists(), log.read_text()
    # Logs name files and reasons, never what the documents say (unless debugging is on).
    hearth_log = Path(env["HEARTH_HOME"]) / "data" / "logs" / "hearth.log"
    assert hearth_log.exists()
    logged = hearth_log.read_text("utf-8")
    for phrase in ("Marguerite Okonkwo", "48,500 pounds", "glazing bars"):
        assert phrase not in logged
