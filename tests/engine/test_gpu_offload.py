"""The GPU path: what fits, the user's choice, and the CPU when the GPU fails.

Without a GPU here, Mesa's lavapipe stands in: a real Vulkan device that runs on the CPU.
llama.cpp leaves CPU devices out unless GGML_VK_VISIBLE_DEVICES names them, so these
tests name it. They need the Vulkan backend (./scripts/test builds it where glslc,
libvulkan-dev and spirv-headers are installed) and lavapipe (mesa-vulkan-drivers).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.engine.backends import vulkan_backend_file
from hearth.engine.client import EngineClient
from hearth.engine.gpu import (
    InvalidGpuChoice,
    ModelLayout,
    last_load,
    layers_that_fit,
    model_layout,
    plan_offload,
    usable_bytes,
    usable_vram,
    vram_of,
)
from hearth.engine.types import SamplingOptions
from hearth.engine.vulkan import VulkanDevice, vulkan_devices
from hearth.settings import Settings

MIB = 1024 * 1024
GIB = 1024 * MIB
PROMPT = "def fibonacci(n):\n    "
GREEDY = SamplingOptions(max_tokens=24, temperature=0.0, repeat_penalty=1.0)


def lavapipe_index() -> int | None:
    return next((d.index for d in vulkan_devices() if d.driver.startswith("llvmpipe")), None)


def lavapipe_missing() -> str | None:
    if not vulkan_backend_file().is_file():
        return (
            "llama.cpp's Vulkan backend is not installed (./scripts/test builds it where "
            "glslc, libvulkan-dev and spirv-headers are installed)"
        )
    if lavapipe_index() is None:
        return "no lavapipe Vulkan device (apt-get install mesa-vulkan-drivers)"
    return None


needs_lavapipe = pytest.mark.skipif(lavapipe_missing() is not None, reason=lavapipe_missing() or "")


@pytest.fixture
def on_lavapipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GGML_VK_VISIBLE_DEVICES", str(lavapipe_index()))


@pytest.fixture
def client() -> Iterator[EngineClient]:
    engine = EngineClient()
    yield engine
    engine.close()


def greedy_text(client: EngineClient) -> str:
    return client.stream_completion(PROMPT, GREEDY).text()


def host_libraries(client: EngineClient) -> str:
    assert client.host_pid is not None
    return Path(f"/proc/{client.host_pid}/maps").read_text()


# -- what fits -------------------------------------------------------------------------
def layout(blocks: int = 24, block_mib: int = 10) -> ModelLayout:
    return ModelLayout(
        blocks=[block_mib * MIB] * blocks,
        output_bytes=100 * MIB,
        kv_bytes_per_block=2 * MIB,
        compute_bytes=50 * MIB,
        logits_bytes=150 * MIB,
    )


def test_layers_fit_as_llama_cpp_offloads_them_output_layer_first() -> None:
    model = layout()
    assert model.offloadable == 25
    assert model.gpu_bytes(0) == 0
    # The output layer alone: its weights and the whole compute buffer.
    assert model.gpu_bytes(1) == (100 + 150 + 50) * MIB
    assert model.gpu_bytes(25) == (100 + 150 + 50 + 24 * 12) * MIB
    assert model.gpu_bytes(99) == model.gpu_bytes(25)
    everything = model.gpu_bytes(25)
    assert layers_that_fit(model, 64 * 1024 * MIB) == 25
    # Just enough once the margin is taken: all; a byte less: one block fewer.
    free = everything + 512 * MIB
    assert usable_bytes(free) == everything
    assert layers_that_fit(model, free) == 25
    assert layers_that_fit(model, free - 1) == 24
    assert layers_that_fit(model, 600 * MIB) == 0  # the margin takes it all


def test_the_plan_follows_the_choice() -> None:
    model = layout()
    assert plan_offload("off", model, 64 * 1024 * MIB).layers == 0
    assert plan_offload("auto", None, 0).layers == 0
    assert plan_offload("auto", None, 0).reason == "no Vulkan GPU"
    assert plan_offload("7", model, 0).layers == 7  # asked for: the estimate is not consulted
    assert plan_offload("300", model, 0).layers == 25
    auto = plan_offload("auto", model, 64 * 1024 * MIB)
    assert (auto.layers, auto.offloadable) == (25, 25)
    assert auto.reason.startswith("25 of 25 layers fit in 65536 MiB free")


def fake_device(index: int, kind: str, memory_gib: float, free_gib: float | None) -> VulkanDevice:
    free = None if free_gib is None else int(free_gib * GIB)
    return VulkanDevice(index, f"GPU {index}", kind, "fake", int(memory_gib * GIB), free)


# A laptop with a discrete GPU beside its integrated one, and lavapipe installed.
FAKE_DEVICES = [
    fake_device(0, "discrete GPU", 6, 4.5),
    fake_device(1, "integrated GPU", 8, 7),
    fake_device(2, "CPU", 16, None),
]


def test_vram_is_the_discrete_gpus_free_memory_less_the_margin() -> None:
    # 4.5 GiB free less 512 MiB; an integrated GPU's memory is the RAM; a CPU is no GPU.
    assert vram_of(FAKE_DEVICES) == 4 * GIB
    # A driver that does not say what is free: the whole memory, less the margin.
    assert vram_of([fake_device(0, "discrete GPU", 2, None)]) == int(1.5 * GIB)
    assert vram_of([]) == 0


def test_vram_counts_only_where_the_engine_could_use_the_gpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    backend = tmp_path / "libggml-vulkan.so"
    monkeypatch.setattr("hearth.engine.backends.vulkan_backend_file", lambda: backend)
    monkeypatch.setattr("hearth.engine.vulkan.vulkan_devices", lambda: FAKE_DEVICES)
    assert usable_vram("auto") == 0  # no Vulkan build
    backend.touch()
    assert usable_vram("auto") == 4 * GIB
    assert usable_vram("12") == 4 * GIB

    def never() -> list[VulkanDevice]:
        raise AssertionError("the Vulkan loader was opened with the GPU off")

    monkeypatch.setattr("hearth.engine.vulkan.vulkan_devices", never)
    assert usable_vram("off") == 0


def test_the_bundled_model_layout_is_read_from_its_file(qwen05_file: Path) -> None:
    model = model_layout(qwen05_file, 4096)
    assert len(model.blocks) == 24
    assert all(5 * MIB < block < 20 * MIB for block in model.blocks)
    # Its output layer is a copy of the embeddings (151,936 x 896, quantised).
    assert 50 * MIB < model.output_bytes < 200 * MIB
    # f16 keys and values: 4096 cells x 2 KV heads x 64 x 2 (K and V) x 2 bytes.
    assert model.kv_bytes_per_block == 4096 * 2 * 64 * 2 * 2
    weights = sum(model.blocks) + model.output_bytes
    assert weights < qwen05_file.stat().st_size + 200 * MIB


def test_the_choice_comes_from_the_environment_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from hearth.assistant.workspace import gpu_choice

    monkeypatch.delenv("HEARTH_GPU", raising=False)
    assert gpu_choice(Settings()) == "auto"
    assert gpu_choice(Settings(gpu="12")) == "12"
    assert gpu_choice(Settings(gpu="0")) == "off"
    monkeypatch.setenv("HEARTH_GPU", "off")
    assert gpu_choice(Settings(gpu="12")) == "off"
    monkeypatch.setenv("HEARTH_GPU", "most")
    with pytest.raises(InvalidGpuChoice, match=r"'most' must be auto, off .*\(HEARTH_GPU\)"):
        gpu_choice(Settings())


def test_a_bad_gpu_setting_falls_back_to_auto(caplog: pytest.LogCaptureFixture) -> None:
    assert Settings.from_dict({"gpu": "all of them"}).gpu == "auto"
    assert Settings.from_dict({"gpu": "off"}).gpu == "off"
    assert Settings.from_dict({"n_gpu_layers": 0}).gpu == "auto"  # the old setting is gone


# -- on lavapipe -----------------------------------------------------------------------
@needs_lavapipe
def test_layers_on_lavapipe_give_the_cpus_greedy_answer(
    qwen05_file: Path, client: EngineClient, on_lavapipe: None
) -> None:
    cpu = client.load(qwen05_file, n_ctx=1024, n_threads=2, gpu="off")
    assert cpu.device_summary() == "CPU"
    on_cpu = greedy_text(client)

    gpu = client.load(qwen05_file, n_ctx=1024, n_threads=2, gpu="auto")
    # lavapipe reports the computer's memory: the whole 0.5B model fits.
    assert (gpu.gpu_layers, gpu.offloadable_layers) == (25, 25)
    assert gpu.device_summary() == "GPU: 25 of 25 layers"
    assert gpu.gpu_devices
    assert gpu.gpu_devices[0].startswith("llvmpipe")
    assert gpu.self_check_tokens_per_s
    assert gpu.self_check_tokens_per_s > 0
    assert "libggml-vulkan.so" in host_libraries(client)
    assert greedy_text(client) == on_cpu
    assert on_cpu.strip()
    recorded = last_load()
    assert recorded is not None
    assert recorded["device"] == "GPU: 25 of 25 layers"


@needs_lavapipe
def test_a_number_of_layers_puts_that_many_on_the_device(
    qwen05_file: Path, client: EngineClient, on_lavapipe: None
) -> None:
    status = client.load(qwen05_file, n_ctx=512, n_threads=2, gpu="10")
    assert status.device_summary() == "GPU: 10 of 25 layers"
    # Its self-check decoded on both devices (the first blocks on the CPU, the rest on it).
    assert status.self_check_tokens_per_s


@needs_lavapipe
def test_gpu_off_uses_no_vulkan_device(
    qwen05_file: Path, client: EngineClient, on_lavapipe: None
) -> None:
    status = client.load(qwen05_file, n_ctx=512, n_threads=2, gpu="off")
    assert status.gpu_layers == 0
    assert status.gpu_devices == ()
    libraries = host_libraries(client)
    # Neither llama.cpp's Vulkan backend nor the Vulkan loader is in the process.
    assert "libggml-vulkan" not in libraries
    assert "libvulkan" not in libraries


@needs_lavapipe
def test_a_device_that_fails_falls_back_to_the_cpu_with_one_line(
    qwen05_file: Path,
    client: EngineClient,
    on_lavapipe: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A device whose buffers hold 4 KiB: no weight fits, so llama.cpp cannot load the model
    # on it, as on a GPU whose memory ran out.
    monkeypatch.setenv("GGML_VK_FORCE_MAX_BUFFER_SIZE", "4096")
    with caplog.at_level(logging.WARNING, logger="hearth.engine.client"):
        status = client.load(qwen05_file, n_ctx=512, n_threads=2, gpu="auto")
    assert status.device_summary() == "CPU"
    assert status.gpu_note.startswith("the GPU failed (")
    lines = [r.getMessage() for r in caplog.records if r.name == "hearth.engine.client"]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"The GPU could not run {qwen05_file.name} (")
    assert lines[0].endswith("; running it on the CPU instead")
    assert "libggml-vulkan" not in host_libraries(client)
    assert client.status().gpu_note == status.gpu_note
    assert greedy_text(client).strip()
    recorded = last_load()
    assert recorded is not None
    assert recorded["device"] == "CPU"
    assert recorded["note"] == status.gpu_note


# -- what the user sees ----------------------------------------------------------------
def test_doctor_lists_the_vulkan_devices_and_the_last_load(
    qwen05_model: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hearth.cli import run_cli
    from hearth.doctor import doctor_report, format_report

    report = doctor_report(check_engine=False)
    assert report["last_load"] is None
    assert [d["name"] for d in report["vulkan_devices"]] == [d.name for d in vulkan_devices()]
    text = format_report(report)
    assert f"Vulkan devices ({len(report['vulkan_devices'])};" in text
    for device in vulkan_devices():
        assert f"  {device.index}: {device.name}, {device.kind}" in text
        assert f"driver {device.driver}" in text
    assert "Last load: none yet" in text

    monkeypatch.setenv("HEARTH_GPU", "auto")  # restored after the test: --gpu sets it
    assert run_cli(["--gpu", "off", "doctor"]) == 0
    assert "decoded its first tokens on CPU (" in capsys.readouterr().out
    assert run_cli(["doctor", "--no-engine"]) == 0
    assert f"Last load: {qwen05_model.name} on CPU (" in capsys.readouterr().out


def test_a_bad_gpu_flag_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hearth.cli import run_cli

    monkeypatch.delenv("HEARTH_GPU", raising=False)
    assert run_cli(["--gpu", "lots", "doctor", "--no-engine"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "hearth: error: the GPU choice 'lots' must be auto, off or a number of layers (0-1000)"
    ]
