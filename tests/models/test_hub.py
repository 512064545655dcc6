"""Finding models on Hugging Face, against the stand-in on 127.0.0.1: search by words,
owner/name and address; a repository's GGUF files as models with size, memory estimate,
fit and the recommended quantisation; the endpoint and token settings; no network."""

from __future__ import annotations

import logging
import socket
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from hearth.models.catalogue import MemoryFit
from hearth.models.gguf_metadata import read_gguf_metadata
from hearth.models.hub import (
    HubError,
    HubInputError,
    RepoReference,
    forget_token,
    hub_call,
    hub_endpoint,
    list_repo,
    load_token,
    parse_reference,
    save_token,
    search_models,
    token_path,
)
from hearth.models.ram import estimate_ram
from hearth.settings import Settings
from tests.models.conftest import QUANT_SIZES, QWEN_REPO, SPLIT_PART_SIZE
from tests.models.hub_standin import HostedFile, HostedRepo, HubStandIn

GB = 1024**3


def test_search_by_words_finds_gguf_repositories_most_downloaded_first(hub: HubStandIn) -> None:
    found = search_models("qwen2.5 1.5b instruct gguf")
    assert [summary.repo_id for summary in found] == [
        QWEN_REPO,
        "bartowski/Qwen2.5-1.5B-Instruct-abliterated-GGUF",
    ]
    assert found[0].downloads == 90_000
    [request] = [r for r in hub.requests if r.path == "/api/models"]
    assert request.query["filter"] == ["gguf"]  # repositories without GGUF files stay out
    assert request.query["search"] == ["qwen2.5 1.5b instruct gguf"]


def test_search_by_owner_name_or_address_names_that_repository(hub: HubStandIn) -> None:
    for typed in (
        QWEN_REPO,
        f"https://huggingface.co/{QWEN_REPO}",
        f"https://huggingface.co/{QWEN_REPO}/blob/main/qwen2.5-1.5b-instruct-q4_k_m.gguf",
    ):
        assert [summary.repo_id for summary in search_models(typed)] == [QWEN_REPO]
    with pytest.raises(HubInputError, match=r"no model repository named 'nobody/nothing' on 127\."):
        search_models("nobody/nothing")


def test_a_gated_repository_is_no_input_error_though_the_hub_calls_it_not_found() -> None:
    """GatedRepoError is a RepositoryNotFoundError: the name is right, a token is missing."""
    import httpx2
    from huggingface_hub.errors import GatedRepoError

    response = httpx2.Response(403, request=httpx2.Request("GET", "https://hub.example/x"))
    with pytest.raises(HubError) as caught, hub_call("https://hub.example", "owner/gated"):
        raise GatedRepoError("gated", response=response)
    assert not isinstance(caught.value, HubInputError)
    assert str(caught.value).startswith("owner/gated is gated: accept its terms")


def test_references_read_from_what_users_paste() -> None:
    file = "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    assert parse_reference(
        f"https://huggingface.co/{QWEN_REPO}/resolve/main/{file}?download=true"
    ) == (RepoReference(QWEN_REPO, file))
    assert parse_reference(f"https://hf.co/{QWEN_REPO}/tree/main") == RepoReference(QWEN_REPO)
    assert parse_reference(f"  {QWEN_REPO} ") == RepoReference(QWEN_REPO)
    assert parse_reference("qwen2.5 1.5b instruct") is None
    with pytest.raises(HubInputError, match="not the address of a model repository"):
        parse_reference("https://huggingface.co/")


def test_a_listing_shows_each_model_once_with_size_memory_and_fit(
    hub: HubStandIn, tmp_path: Path
) -> None:
    listing = list_repo(QWEN_REPO, Settings(n_ctx=4096), total_memory=8 * GB)
    assert listing.name == "Qwen2.5 1.5B Instruct"
    assert listing.revision == "0123456789abcdef0123456789abcdef01234567"
    # The projector and the README are not models; the split Q8_0 is one model of two parts.
    assert [choice.quantization for choice in listing.choices] == [
        "Q2_K",
        "Q4_K_M",
        "Q5_K_M",
        "Q8_0",
    ]
    split = listing.choices[-1]
    assert [file.name for file in split.files] == [
        "qwen2.5-1.5b-instruct-q8_0-00001-of-00002.gguf",
        "qwen2.5-1.5b-instruct-q8_0-00002-of-00002.gguf",
    ]
    assert split.size_bytes == sum(file.size for file in split.files) > 2 * SPLIT_PART_SIZE
    q4 = listing.choose(quantization="q4_k_m")
    assert QUANT_SIZES["Q4_K_M"] < q4.size_bytes < QUANT_SIZES["Q4_K_M"] + 64 * 1024
    assert all(file.sha256 and len(file.sha256) == 64 for c in listing.choices for file in c.files)
    # The estimate is Hearth's own (models/ram.py), from the header read over the network:
    # the same as for the file itself but for the weights, counted as the file's size.
    local = hub.repos[QWEN_REPO].file(q4.file_name)
    assert local is not None
    assert isinstance(local.source, bytes)
    (tmp_path / q4.file_name).write_bytes(local.source)
    on_disk = estimate_ram(read_gguf_metadata(tmp_path / q4.file_name), 4096)
    assert q4.ram.kv_cache_bytes == on_disk.kv_cache_bytes > 0
    assert q4.ram.compute_bytes == on_disk.compute_bytes
    assert q4.ram.weights_bytes == q4.size_bytes
    # Only the first bytes of one file were read for it.
    [head] = [r for r in hub.requests if "/resolve/" in r.path]
    assert head.range == "bytes=0-262143"


def test_the_recommended_quantisation_is_the_preferred_one_that_fits(hub: HubStandIn) -> None:
    roomy = list_repo(QWEN_REPO, total_memory=8 * GB)
    assert all(choice.fit is MemoryFit.FITS for choice in roomy.choices)
    assert roomy.recommended is not None
    assert roomy.recommended.quantization == "Q4_K_M"
    assert [c.recommended for c in roomy.choices].count(True) == 1
    # A computer on which the Q2_K takes half the memory: the Q4_K_M is tight there, and
    # the largest that fits is recommended.
    q2 = roomy.choices[0]
    memory = 2 * q2.ram.total_bytes
    small = list_repo(QWEN_REPO, total_memory=memory)
    fits = {choice.quantization: choice.fit for choice in small.choices}
    assert fits == {
        "Q2_K": MemoryFit.FITS,
        "Q4_K_M": MemoryFit.TIGHT,
        "Q5_K_M": MemoryFit.TIGHT,
        "Q8_0": MemoryFit.TIGHT,
    }
    assert small.recommended is not None
    assert small.recommended.quantization == "Q2_K"
    tiny = list_repo(QWEN_REPO, total_memory=q2.ram.total_bytes)
    assert {choice.fit for choice in tiny.choices} == {MemoryFit.WONT_FIT}
    assert tiny.recommended is None
    with pytest.raises(HubError, match=r"none of .* fits this computer's memory"):
        tiny.choose()
    assert tiny.choose(quantization="Q2_K").quantization == "Q2_K"  # asked for: allowed
    with pytest.raises(HubError, match=r"has no Q3_K_M file \(it has Q2_K, Q4_K_M, Q5_K_M, Q8_0\)"):
        tiny.choose(quantization="Q3_K_M")


def test_a_repository_without_gguf_files_lists_no_models(hub: HubStandIn) -> None:
    assert list_repo("Qwen/Qwen2.5-1.5B-Instruct").choices == []


def test_the_endpoint_is_hf_endpoint_else_the_setting(
    monkeypatch: pytest.MonkeyPatch, hub: HubStandIn
) -> None:
    assert hub_endpoint(Settings(hf_endpoint="https://mirror.example")) == hub.url
    monkeypatch.delenv("HF_ENDPOINT")
    assert hub_endpoint(Settings(hf_endpoint="https://mirror.example/")) == "https://mirror.example"
    assert hub_endpoint(Settings()) == "https://huggingface.co"
    # The setting alone reaches the stand-in too.
    assert search_models(QWEN_REPO, Settings(hf_endpoint=hub.url))[0].repo_id == QWEN_REPO
    assert Settings(hf_endpoint="ftp://x").problems() == [
        ("hf_endpoint", "the Hugging Face endpoint 'ftp://x' is not an http:// or https:// address")
    ]


def test_no_network_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    for attempt in (lambda: search_models("qwen"), lambda: list_repo(QWEN_REPO)):
        with pytest.raises(HubError) as caught:
            attempt()
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(f"cannot reach 127.0.0.1:{closed_port} (connection refused)")


def test_offline_mode_still_holds_for_requests_the_user_did_not_start(hub: HubStandIn) -> None:
    """Hearth runs with HF_HUB_OFFLINE=1 (tests/conftest.py, as every entry point): only
    what runs inside user_request() reaches the endpoint."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import OfflineModeIsEnabled

    search_models("qwen")  # installs Hearth's client
    seen = len(hub.requests)
    with pytest.raises(OfflineModeIsEnabled):
        HfApi(endpoint=hub.url).model_info(QWEN_REPO)
    assert len(hub.requests) == seen


def test_a_token_is_kept_owner_only_sent_for_gated_files_and_never_logged(
    hub: HubStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "hf_standinTokenForTests0123456789"
    gated = hub.add(
        HostedRepo(
            "meta-llama/Llama-3.2-1B-Instruct-GGUF",
            list(hub.repos[QWEN_REPO].files[:1]),
            gated=True,
        )
    )
    hub.token = secret
    # Its files are listed without a token; what they hold is not readable.
    unauthorised = list_repo(gated.repo_id)
    assert unauthorised.gated
    assert len(unauthorised.choices) == 1
    assert unauthorised.estimate_note is not None
    assert "is gated: accept its terms" in unauthorised.estimate_note
    assert "add your Hugging Face token" in unauthorised.estimate_note
    caplog.set_level(logging.DEBUG)
    path = save_token(f" {secret}\n")
    assert path == token_path()
    assert path.parent.name == "data"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token() == secret
    listing = list_repo(gated.repo_id)
    assert listing.gated
    assert listing.choices
    assert listing.estimate_note is None
    assert hub.requests[-1].authorization == f"Bearer {secret}"
    assert secret not in caplog.text
    assert forget_token()
    assert load_token() is None
    with pytest.raises(HubError, match="one word"):
        save_token("two words")


def test_a_header_unreadable_leaves_the_estimate_to_the_sizes(hub: HubStandIn) -> None:
    broken = HostedFile("broken-Q4_K_M.gguf", b"GGUF" + b"\xff" * 4096)
    hub.add(HostedRepo("someone/broken-GGUF", [broken]))
    listing = list_repo("someone/broken-GGUF", replace(Settings(), n_ctx=2048), total_memory=8 * GB)
    [choice] = listing.choices
    assert choice.ram.total_bytes == broken.size
    assert listing.estimate_note is not None
    assert "header was unreadable" in listing.estimate_note
