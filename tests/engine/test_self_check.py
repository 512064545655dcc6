"""The engine runs on this computer: a portable llama.cpp build, checked at every load.

On an AMX Xeon a native build loaded models and then crashed in llama_decode; these
tests would have caught that on the machine that runs them."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hearth.engine.client import EngineClient
from hearth.engine.errors import EngineUnfitForCpu
from hearth.engine.types import SamplingOptions
from hearth.machine import cpu_description

CRASH_AT_DECODE = Path(__file__).parent / "crash_at_decode"
# CMake option -> the name llama.cpp's system info gives the feature it switches on.
FEATURE_OF_OPTION = {
    "GGML_AVX": "AVX",
    "GGML_AVX2": "AVX2",
    "GGML_FMA": "FMA",
    "GGML_F16C": "F16C",
    "GGML_BMI2": "BMI2",
    "GGML_AVX_VNNI": "AVX_VNNI",
    "GGML_AVX512": "AVX512",
    "GGML_AVX512_VBMI": "AVX512_VBMI",
    "GGML_AVX512_VNNI": "AVX512_VNNI",
    "GGML_AVX512_BF16": "AVX512_BF16",
    "GGML_AMX_INT8": "AMX_INT8",
}
# CMake option -> the /proc/cpuinfo flags a CPU needs to run code built with it.
CPU_FLAGS_OF_OPTION = {
    "GGML_AVX": ["avx"],
    "GGML_AVX2": ["avx2"],
    "GGML_FMA": ["fma"],
    "GGML_F16C": ["f16c"],
    "GGML_BMI2": ["bmi2"],
    "GGML_AVX_VNNI": ["avx_vnni"],
    "GGML_AVX512": ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"],
    "GGML_AVX512_VBMI": ["avx512vbmi"],
    "GGML_AVX512_VNNI": ["avx512_vnni"],
    "GGML_AVX512_BF16": ["avx512_bf16"],
    "GGML_AMX_INT8": ["amx_int8"],
}


def build_record() -> dict[str, Any]:
    import llama_cpp

    record_file = Path(llama_cpp.__file__).parent / "lib" / "hearth-build.json"
    assert record_file.is_file(), "llama-cpp-python was not installed by scripts/_install.sh"
    record: dict[str, Any] = json.loads(record_file.read_text("utf-8"))
    return record


def test_the_bundled_model_decodes_in_the_engine_host(
    engine: EngineClient, gemma_model: Path
) -> None:
    status = engine.load(gemma_model, n_ctx=512, n_threads=2)
    assert status.self_check_tokens_per_s is not None
    assert status.self_check_tokens_per_s > 0
    text = engine.stream_completion(
        "The capital of France is", SamplingOptions(max_tokens=8, temperature=0.0)
    ).text()
    assert text.strip()


def cmake_options(args: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("-D").split("=", 1) for arg in args)


def test_llama_cpp_was_built_portably_and_loads_the_best_backend_for_this_cpu(
    engine: EngineClient, gemma_model: Path
) -> None:
    record = build_record()
    options = cmake_options(record["cmake_args"])
    assert options["GGML_NATIVE"] == "OFF"
    assert options["GGML_BACKEND_DL"] == "ON"
    variants: dict[str, list[str]] = record["cpu_variants"]
    # Each variant: the baseline's options with its own on top.
    wanted = {name: {**options, **cmake_options(extra)} for name, extra in variants.items()}
    cpu_flags = cpu_description().flags
    runnable = {
        name: variant
        for name, variant in wanted.items()
        if all(
            flag in cpu_flags
            for option, flags in CPU_FLAGS_OF_OPTION.items()
            if variant.get(option) == "ON"
            for flag in flags
        )
    }
    # ggml's own rule: the runnable variant with the most features.
    best = max(runnable, key=lambda name: sum(v == "ON" for v in runnable[name].values()))

    engine.load(gemma_model, n_ctx=512, n_threads=2)
    # What the library loaded here says it was compiled with, read in the engine host.
    assert engine.system_info.endswith(f"libggml-cpu-{best}.so"), engine.system_info
    features = {
        name.strip(): value.strip()
        for name, _, value in (
            part.partition("=") for part in engine.system_info.split("|") if "=" in part
        )
    }
    for option, feature in FEATURE_OF_OPTION.items():
        if wanted[best].get(option) == "ON":
            assert features.get(feature) == "1", (feature, engine.system_info)
        else:
            assert feature not in features, (feature, engine.system_info)
    assert not any(name.startswith("AMX") for name in features), engine.system_info


def test_a_crash_in_the_self_check_is_one_clear_error(
    gemma_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(CRASH_AT_DECODE))
    client = EngineClient()
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(EngineUnfitForCpu) as raised:
            client.load(gemma_model, n_ctx=512, n_threads=2)
        message = str(raised.value)
        assert "\n" not in message
        assert "crashed while running the model on this computer's CPU (signal 11)" in message
        assert "hearth doctor" in message
        # The log says what llama.cpp was built with and what this CPU has.
        logged = caplog.text
        assert "AVX2 = 1" in logged  # what llama.cpp was built with
        assert "avx2" in logged
    finally:
        client.close()


def test_the_cli_reports_the_crash_in_one_line_and_search_still_works(
    gemma_model: Path, hearth_home: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(CRASH_AT_DECODE), "HEARTH_HOME": str(hearth_home)}

    def hearth(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hearth", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )

    chat = hearth("chat", "The capital of France is")
    assert chat.returncode == 1
    lines = chat.stderr.strip().splitlines()
    assert len(lines) == 1, chat.stderr
    assert lines[0].startswith("hearth: error: llama.cpp crashed while running the model on")
    search = hearth("search", "anything")
    assert search.returncode == 0, search.stderr
    assert "Nothing found." in search.stdout
