"""Downloading a model from the stand-in Hub: resumed after the connection drops, after a
restart of Hearth (a new process), after a cancel; refused on a wrong checksum, a full
disk, too little space; one line with no network; then catalogued like any other model,
and only installed models in the API's list."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from hearth.jobs import Cancelled, CancelToken
from hearth.models import downloads as downloads_module
from hearth.models.catalogue import ModelCatalogue
from hearth.models.downloads import (
    DownloadError,
    DownloadPlan,
    DownloadProgress,
    ModelDownloader,
)
from hearth.models.hub import RepoListing, list_repo
from tests.models.conftest import QWEN_REPO
from tests.models.hub_standin import HostedFile, HostedRepo, HubStandIn

GB = 1024**3
Q4 = "qwen2.5-1.5b-instruct-q4_k_m.gguf"


@pytest.fixture
def listing(hub: HubStandIn) -> RepoListing:
    return list_repo(QWEN_REPO, total_memory=8 * GB)


@pytest.fixture
def catalogue(hearth_home: Path) -> ModelCatalogue:
    return ModelCatalogue()


def downloader(hub: HubStandIn, catalogue: ModelCatalogue, retries: int = 0) -> ModelDownloader:
    return ModelDownloader(catalogue, hub.url, retries=retries, retry_wait=0.0)


def hosted_bytes(hub: HubStandIn, name: str) -> bytes:
    hosted = hub.repos[QWEN_REPO].file(name)
    assert hosted is not None
    assert isinstance(hosted.source, bytes)
    return hosted.source


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".gguf"))


def test_the_recommended_model_downloads_verified_and_catalogued(
    hub: HubStandIn, listing: RepoListing, catalogue: ModelCatalogue
) -> None:
    choice = listing.choose()
    plan = DownloadPlan.for_choice(choice, catalogue.folder)
    reports: list[DownloadProgress] = []
    model = downloader(hub, catalogue).download(plan, reports.append)
    assert model.id == "qwen2.5-1.5b-instruct-q4_k_m"
    assert model.path.read_bytes() == hosted_bytes(hub, Q4)
    assert model.label == "Qwen2.5 1.5B Instruct · Q4_K_M"
    assert model.has_chat_template
    assert reports[0].done == 0
    assert reports[-1].done == reports[-1].total == choice.size_bytes
    assert leftovers(catalogue.folder) == []  # no partial file, no plan
    assert catalogue.set_default(model.id).is_default
    assert catalogue.default().id == model.id
    # The file was asked for at the commit the listing saw.
    [request] = hub.downloads_of(Q4)
    assert f"/resolve/{listing.revision}/" in request.path
    assert request.range is None


def test_a_dropped_connection_is_resumed_where_it_stopped(
    hub: HubStandIn, listing: RepoListing, catalogue: ModelCatalogue
) -> None:
    plan = DownloadPlan.for_choice(listing.choose(quantization="Q4_K_M"), catalogue.folder)
    cut = 1_234_567
    hub.cut_at[Q4] = cut
    with pytest.raises(DownloadError) as caught:
        downloader(hub, catalogue).download(plan)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{Q4}: the download stopped at 39%: the connection to 127.0.0.1")
    assert message.endswith("starting it again resumes from there")
    partial = catalogue.folder / (Q4 + ".partial")
    assert partial.stat().st_size == cut
    assert [m.id for m in catalogue.list()] == []  # not a model until it is whole
    del hub.cut_at[Q4]
    model = downloader(hub, catalogue).download(plan)  # a new downloader: nothing kept in memory
    assert (
        hashlib.sha256(model.path.read_bytes()).digest()
        == hashlib.sha256(hosted_bytes(hub, Q4)).digest()
    )
    assert [r.range for r in hub.downloads_of(Q4)] == [None, f"bytes={cut}-"]
    assert leftovers(catalogue.folder) == []


def test_a_dropped_connection_is_resumed_by_itself_a_few_times(
    hub: HubStandIn, listing: RepoListing, catalogue: ModelCatalogue
) -> None:
    plan = DownloadPlan.for_choice(listing.choose(), catalogue.folder)
    hub.cut_at[Q4] = 1_000_000
    hub.cut_once = True
    model = downloader(hub, catalogue, retries=3).download(plan)
    assert model.path.read_bytes() == hosted_bytes(hub, Q4)
    assert [r.range for r in hub.downloads_of(Q4)] == [None, "bytes=1000000-"]


def hearth_download(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hearth", "models", "download", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_a_download_resumes_after_hearth_was_killed_mid_file(
    hub: HubStandIn, catalogue: ModelCatalogue
) -> None:
    """A restart between the two halves: the first process is killed (no chance to tidy
    up), the second finds the partial file and its plan and asks only for the rest."""
    hub.bytes_per_second = 1024 * 1024  # three seconds for the file
    first = hearth_download(QWEN_REPO, "--quant", "Q4_K_M")
    partial = catalogue.folder / (Q4 + ".partial")
    deadline = time.monotonic() + 60
    while not (partial.exists() and partial.stat().st_size > 500_000):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    kept = partial.stat().st_size
    assert 0 < kept < len(hosted_bytes(hub, Q4))
    hub.bytes_per_second = None
    second = hearth_download(QWEN_REPO, "--quant", "Q4_K_M", "--default")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "resuming at" in out
    assert out.splitlines()[-1].startswith(
        "Downloaded qwen2.5-1.5b-instruct-q4_k_m (Qwen2.5 1.5B Instruct · Q4_K_M, needs about"
    )
    ranges = [r.range for r in hub.downloads_of(Q4) if r.range != "bytes=0-262143"]
    assert ranges[0] is None
    assert ranges[-1] == f"bytes={kept}-"
    installed = catalogue.get("qwen2.5-1.5b-instruct-q4_k_m")
    assert installed.path.read_bytes() == hosted_bytes(hub, Q4)
    assert catalogue.default_id() == installed.id
    assert leftovers(catalogue.folder) == []


def test_cancel_keeps_what_came_and_resume_finishes_it(
    hub: HubStandIn, listing: RepoListing, catalogue: ModelCatalogue
) -> None:
    hub.bytes_per_second = 2 * 1024 * 1024
    plan = DownloadPlan.for_choice(listing.choose(), catalogue.folder)
    token = CancelToken()

    def cancel_halfway(progress: DownloadProgress) -> None:
        if progress.done > 1_000_000:
            token.cancel()

    with pytest.raises(Cancelled):
        downloader(hub, catalogue).download(plan, cancel_halfway, token)
    partial = catalogue.folder / (Q4 + ".partial")
    kept = partial.stat().st_size
    assert 1_000_000 < kept < plan.total_bytes
    assert not (catalogue.folder / Q4).exists()
    fresh = downloader(hub, catalogue)
    assert [p.model_id for p in fresh.unfinished()] == [plan.model_id]
    assert fresh.bytes_on_disk(plan) == kept
    hub.bytes_per_second = None
    reports: list[DownloadProgress] = []
    model = fresh.download(plan, reports.append)
    assert reports[0].done == kept  # the bar starts where it stopped
    assert any(report.checking for report in reports)  # the kept bytes are hashed first
    assert model.path.read_bytes() == hosted_bytes(hub, Q4)
    assert fresh.unfinished() == []


def test_discarding_an_unfinished_download_leaves_nothing(
    hub: HubStandIn, listing: RepoListing, catalogue: ModelCatalogue
) -> None:
    split = listing.choose(quantization="Q8_0")
    plan = DownloadPlan.for_choice(split, catalogue.folder)
    second = split.files[1].name
    hub.cut_at[second] = 100_000  # the first part arrives whole, the second is cut
    with pytest.raises(DownloadError):
        downloader(hub, catalogue).download(plan)
    assert (catalogue.folder / split.files[0].name).exists()
    assert [m.id for m in catalogue.list()] == []  # a split model missing a part is not listed
    downloader(hub, catalogue).discard(plan)
    assert list(catalogue.folder.iterdir()) == []


def test_a_split_model_downloads_as_one_model(
    hub: HubStandIn, listing: RepoListing, catalogue: ModelCatalogue
) -> None:
    split = listing.choose(quantization="Q8_0")
    model = downloader(hub, catalogue).download(DownloadPlan.for_choice(split, catalogue.folder))
    assert model.id == "qwen2.5-1.5b-instruct-q8_0-00001-of-00002"
    assert model.label == "Qwen2.5 1.5B Instruct · Q8_0"
    assert model.metadata.file_size == split.size_bytes  # both parts counted
    assert [m.id for m in catalogue.list()] == [model.id]
    catalogue.remove(model.id)
    assert list(catalogue.folder.iterdir()) == []


def test_a_wrong_checksum_is_refused_and_the_file_removed(
    hub: HubStandIn, catalogue: ModelCatalogue
) -> None:
    good = hub.repos[QWEN_REPO].file(Q4)
    assert good is not None
    hub.add(
        HostedRepo(
            "tampered/Qwen2.5-1.5B-Instruct-GGUF",
            [HostedFile(Q4, good.source, published_sha256="ab" * 32)],
        )
    )
    listing = list_repo("tampered/Qwen2.5-1.5B-Instruct-GGUF", total_memory=8 * GB)
    plan = DownloadPlan.for_choice(listing.choose(), catalogue.folder)
    with pytest.raises(DownloadError) as caught:
        downloader(hub, catalogue).download(plan)
    actual = hashlib.sha256(hosted_bytes(hub, Q4)).hexdigest()
    assert str(caught.value) == (
        f"{Q4}: the download does not match the SHA-256 Hugging Face publishes for it "
        f"({actual[:12]}…, expected abababababab…); the file was removed"
    )
    assert not (catalogue.folder / (Q4 + ".partial")).exists()
    assert not (catalogue.folder / Q4).exists()
    assert catalogue.list() == []


@pytest.fixture
def full_disk_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes fail with ENOSPC once 1 MB is written, as on a disk that fills up."""
    written = 0
    real = downloads_module.write_block

    def write(output: BinaryIO, block: bytes) -> None:
        nonlocal written
        if written + len(block) > 1_000_000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written += len(block)
        real(output, block)

    monkeypatch.setattr(downloads_module, "write_block", write)
    return


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(
    hub: HubStandIn, listing: RepoListing, catalogue: ModelCatalogue, full_disk_after: None
) -> None:
    plan = DownloadPlan.for_choice(listing.choose(), catalogue.folder)
    with pytest.raises(DownloadError) as caught:
        downloader(hub, catalogue).download(plan)
    assert str(caught.value) == (
        f"{Q4}: the disk is full ({catalogue.folder}); the unfinished file was removed"
    )
    assert list(catalogue.folder.iterdir()) == []


def test_too_little_free_space_is_refused_before_the_first_byte(
    hub: HubStandIn,
    listing: RepoListing,
    catalogue: ModelCatalogue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = DownloadPlan.for_choice(listing.choose(), catalogue.folder)

    class Usage:
        free = 10 * 1024 * 1024

    monkeypatch.setattr("hearth.models.downloads.shutil.disk_usage", lambda path: Usage())
    with pytest.raises(DownloadError, match=rf"^{Q4}: not enough disk space: it needs 3 MB more, "):
        downloader(hub, catalogue).download(plan)
    assert hub.downloads_of(Q4) == []
    assert list(catalogue.folder.iterdir()) == []


def test_no_network_is_one_line_and_keeps_what_was_downloaded(
    hub: HubStandIn, listing: RepoListing, catalogue: ModelCatalogue
) -> None:
    plan = DownloadPlan.for_choice(listing.choose(), catalogue.folder)
    hub.cut_at[Q4] = 700_000
    with pytest.raises(DownloadError):
        downloader(hub, catalogue).download(plan)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    gone = ModelDownloader(catalogue, f"http://127.0.0.1:{closed_port}", retries=3)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        gone.download(plan)
    assert time.monotonic() - started < 5  # said at once, not after retries
    assert str(caught.value) == (
        f"{Q4}: the download stopped at 22%: cannot reach 127.0.0.1:{closed_port} (connection "
        "refused); check the network connection, or the Hugging Face endpoint (HF_ENDPOINT or "
        "hf_endpoint in the settings); starting it again resumes from there"
    )
    assert (catalogue.folder / (Q4 + ".partial")).stat().st_size == 700_000


def test_the_cli_says_no_network_in_one_line(hub: HubStandIn) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{closed_port}"}
    for command in (["search", "qwen"], ["download", QWEN_REPO]):
        done = subprocess.run(
            [sys.executable, "-m", "hearth", "models", *command],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            f"hearth: error: cannot reach 127.0.0.1:{closed_port} (connection refused); check "
            "the network connection, or the Hugging Face endpoint (HF_ENDPOINT or hf_endpoint "
            "in the settings)"
        ]


def test_the_cli_refuses_what_names_nothing_in_one_line_with_status_2(
    hub: HubStandIn, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As argparse's usage errors: a repository, file, quantisation or address that is not
    there exits 2 (a network failure stays 1), before anything is downloaded."""
    from hearth.cli import run_cli

    refused = {
        ("models", "search", "nobody/nothing"): (
            f"no model repository named 'nobody/nothing' on {hub.url.split('://')[1]}"
        ),
        ("models", "download", "nobody/nothing"): (
            f"no model repository named 'nobody/nothing' on {hub.url.split('://')[1]}"
        ),
        ("models", "search", "https://huggingface.co/"): (
            "https://huggingface.co/ is not the address of a model repository"
        ),
        ("models", "download", "qwen 1.5b"): (
            "'qwen 1.5b' is not owner/name or the address of a repository"
        ),
        ("models", "download", QWEN_REPO, "--quant", "Q3_K_S"): (
            f"{QWEN_REPO} has no Q3_K_S file (it has Q2_K, Q4_K_M, Q5_K_M, Q8_0)"
        ),
        ("models", "download", QWEN_REPO, "model-q4_k_m.gguf"): (
            f"{QWEN_REPO} has no GGUF file named model-q4_k_m.gguf"
        ),
    }
    for command, line in refused.items():
        assert run_cli(list(command)) == 2, command
        assert capsys.readouterr().err.splitlines() == [f"hearth: error: {line}"]
    monkeypatch.setattr("hearth.machine.total_memory_bytes", lambda: 1024**2)
    assert run_cli(["models", "download", QWEN_REPO]) == 2
    assert "name one with --quant or FILE" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("two words\n"))
    assert run_cli(["models", "token"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "hearth: error: a Hugging Face token is one word (it starts with hf_)"
    ]
    assert list(ModelCatalogue().folder.glob("*.partial")) == []


def test_the_cli_searches_and_lists_a_repository(
    hub: HubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    from hearth.cli import run_cli

    assert run_cli(["models", "search", "qwen2.5", "1.5b", "instruct", "gguf"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [QWEN_REPO, "90,000", "120"]
    assert lines[2].split()[0] == "bartowski/Qwen2.5-1.5B-Instruct-abliterated-GGUF"
    assert lines[-1] == "Its files: hearth models search OWNER/NAME"
    assert run_cli(["models", "search", f"https://huggingface.co/{QWEN_REPO}"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:6]]
    assert [(row[0], row[5]) for row in rows] == [
        ("Q2_K", "fits"),
        ("Q4_K_M", "fits"),
        ("Q5_K_M", "fits"),
        ("Q8_0", "fits"),
    ]
    assert [row[-1] for row in rows] == [
        "qwen2.5-1.5b-instruct-q2_k.gguf",
        "(recommended)",
        "qwen2.5-1.5b-instruct-q5_k_m.gguf",
        "parts",  # "... + 1 parts"
    ]


def test_the_api_lists_installed_models_only(
    hub: HubStandIn, listing: RepoListing, scripted_workspace: Any, shared_embedder: Any
) -> None:
    from hearth.index.document_index import DocumentIndex
    from hearth.server.service import DOCUMENTS_MODEL, EMBEDDING_MODEL, HearthService

    catalogue = scripted_workspace.catalogue
    plan = DownloadPlan.for_choice(listing.choose(), catalogue.folder)
    hub.cut_at[Q4] = 500_000
    with pytest.raises(DownloadError):
        downloader(hub, catalogue).download(plan)
    service = HearthService(scripted_workspace, DocumentIndex(embedder=shared_embedder), 4)
    try:
        listed = [model["id"] for model in service.models()]
        assert listed == ["tiny-test-model", DOCUMENTS_MODEL, EMBEDDING_MODEL]
        del hub.cut_at[Q4]
        downloader(hub, catalogue).download(plan)
        listed = [model["id"] for model in service.models()]
        assert listed == [
            "qwen2.5-1.5b-instruct-q4_k_m",
            "tiny-test-model",
            DOCUMENTS_MODEL,
            EMBEDDING_MODEL,
        ]
    finally:
        service.engine_queue.shutdown()
        service.lookup_queue.shutdown()
        service.lookup_index.close()


def test_a_downloaded_model_answers(
    hub: HubStandIn, qwen05_file: Path, catalogue: ModelCatalogue
) -> None:
    """The whole way with a real model: Qwen2.5-Coder 0.5B served by the stand-in, found,
    downloaded by the CLI as the recommended quantisation, made the default, asked."""
    import json

    from hearth.models.bundled import SET_UP_AT_FIRST_START

    repo = "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF"
    name = "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf"
    hub.add(HostedRepo(repo, [HostedFile(name, qwen05_file)], downloads=50_000))
    for bundled in SET_UP_AT_FIRST_START:  # only the downloaded model in this test's folder
        catalogue.mark_set_up(bundled.id)
    env = os.environ.copy()

    def hearth(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hearth", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )

    found = hearth("models", "search", "qwen2.5", "coder", "0.5b", "--json")
    assert found.returncode == 0, found.stderr
    assert [r["repo"] for r in json.loads(found.stdout)] == [repo]
    downloaded = hearth("models", "download", repo, "--default")
    assert downloaded.returncode == 0, downloaded.stderr
    model = catalogue.default()
    assert model.id == "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M"
    assert model.label == "Qwen2.5 Coder 0.5B Instruct · Q4_K_M"
    assert (
        hashlib.sha256(model.path.read_bytes()).hexdigest()
        == hashlib.sha256(qwen05_file.read_bytes()).hexdigest()
    )
    answer = hearth("chat", "What is the capital of France? One word.", "--json")
    assert answer.returncode == 0, answer.stderr
    reply = json.loads(answer.stdout)
    assert reply["model"] == model.id
    assert "Paris" in reply["text"]
