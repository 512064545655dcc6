"""Engine throughput: the host-process client against llama_cpp.Llama in this process.

Same model, prompt, threads and greedy sampling on both sides, alternating, each run
with a distinct prompt prefix so neither side reuses the other's KV cache. Prompt speed
is prompt tokens over the time to the first piece; decode speed is the remaining tokens
over the remaining time. With --gpu auto (or N) the client puts the model on the Vulkan
GPU while the in-process side stays on the CPU: the GPU against the CPU, in one run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.common import machine_description, median, print_table, write_json

BASE_PROMPT = (
    "The following is a detailed report about the history of lighthouses along the northern "
    "coast, their keepers, the storms they survived, the ships they guided and the way the "
    "lamps and lenses changed over two centuries of service. "
) * 6 + "\n\nChapter one.\n"


def _rates(
    prompt_tokens: int, completion_tokens: int, first: float, total: float
) -> tuple[float, float]:
    prompt_rate = prompt_tokens / max(first, 1e-9)
    decode_rate = max(0, completion_tokens - 1) / max(total - first, 1e-9)
    return prompt_rate, decode_rate


def run(
    model_path: Path, n_ctx: int, threads: int, max_tokens: int, repeats: int, gpu: str = "off"
) -> dict[str, Any]:
    from hearth.engine.client import EngineClient
    from hearth.engine.host import open_llama
    from hearth.engine.types import SamplingOptions

    started = time.perf_counter()
    direct = open_llama(model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads)
    direct_load = time.perf_counter() - started

    client = EngineClient()
    started = time.perf_counter()
    status = client.load(model_path, n_ctx=n_ctx, n_threads=threads, gpu=gpu)
    client_load = time.perf_counter() - started

    measured: dict[str, list[tuple[float, float]]] = {"client": [], "direct": []}
    options = SamplingOptions(
        max_tokens=max_tokens, temperature=0.0, top_p=1.0, seed=1, repeat_penalty=1.0
    )
    for repeat in range(repeats):
        for side in ("direct", "client") if repeat % 2 == 0 else ("client", "direct"):
            prompt = f"Report {repeat}-{side}. {BASE_PROMPT}"
            tokens = direct.tokenize(prompt.encode(), add_bos=True)
            begin = time.perf_counter()
            first: float | None = None
            pieces: list[str] = []
            if side == "direct":
                stream: Any = direct.create_completion(
                    prompt=tokens,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    top_p=1.0,
                    repeat_penalty=1.0,
                    seed=1,
                    stream=True,
                )
                for chunk in stream:
                    first = first or time.perf_counter()
                    pieces.append(chunk["choices"][0]["text"])
            else:
                for piece in client.stream_completion(prompt, options):
                    first = first or time.perf_counter()
                    pieces.append(piece)
            total = time.perf_counter() - begin
            completion = len(direct.tokenize("".join(pieces).encode(), add_bos=False))
            measured[side].append(_rates(len(tokens), completion, (first or begin) - begin, total))
    client.close()
    direct.close()

    result: dict[str, Any] = {"machine": machine_description(), "model": str(model_path)}
    result["client_device"] = status.device_summary()
    result["client_gpu_devices"] = list(status.gpu_devices)
    for side in ("client", "direct"):
        result[side] = {
            "prompt_tokens_per_s": median([p for p, _ in measured[side]]),
            "decode_tokens_per_s": median([d for _, d in measured[side]]),
        }
    result["prompt_ratio"] = (
        result["client"]["prompt_tokens_per_s"] / result["direct"]["prompt_tokens_per_s"]
    )
    result["decode_ratio"] = (
        result["client"]["decode_tokens_per_s"] / result["direct"]["decode_tokens_per_s"]
    )
    result["client_load_seconds"] = client_load
    result["direct_load_seconds"] = direct_load
    return result


def main(argv: list[str] | None = None) -> int:
    from hearth.models.bundled import model_file
    from hearth.offline import enforce_offline

    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="write results as JSON here")
    parser.add_argument("--model", help="model id or GGUF file (default: the default model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--max-tokens", type=int, default=128)
    # Eight runs a side: with four, the decode ratio swung between 0.94 and 0.99 on 2 cores.
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--gpu", default="off", help="the client's GPU choice: off, auto or N")
    args = parser.parse_args(argv)
    model = model_file(args.model)
    result = run(model, args.ctx, args.threads, args.max_tokens, args.repeats, args.gpu)
    print(f"client on {result['client_device']} {' '.join(result['client_gpu_devices'])}")
    print_table(
        ["path", "prompt tok/s", "decode tok/s"],
        [
            [side, result[side]["prompt_tokens_per_s"], result[side]["decode_tokens_per_s"]]
            for side in ("direct", "client")
        ],
    )
    print(f"prompt_ratio {result['prompt_ratio']:.3f}   decode_ratio {result['decode_ratio']:.3f}")
    print(
        f"load seconds: client {result['client_load_seconds']:.2f}, "
        f"direct {result['direct_load_seconds']:.2f}"
    )
    write_json(args.out, result)
    return 0
