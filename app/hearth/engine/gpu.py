"""How much of a model goes to the GPU: the user's choice, and what fits by itself.

The choice is "auto" (the default), "off" or a number of layers: $HEARTH_GPU (`hearth
--gpu`) first, else the `gpu` setting (the Workspace resolves it: nothing in hearth.engine
reads the environment or the settings file). "auto" offloads as many layers as fit in the free
memory of the Vulkan devices llama.cpp uses, leaving a margin: llama.cpp counts the
output layer as one more than the model's blocks, and offloads it first, then blocks
from the last one down. Each takes its weights, a block its share of the KV cache, and
the GPU a compute buffer for one micro-batch.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hearth.errors import HearthError
from hearth.paths import hearth_paths

if TYPE_CHECKING:
    from hearth.engine.types import EngineStatus
    from hearth.engine.vulkan import VulkanDevice

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Left free on the device: drivers, the desktop and other programs use it too, and the
# estimate is an estimate.
MARGIN_SHARE = 0.10
MARGIN_MIN_BYTES = 512 * MIB
UBATCH = 512  # llama.cpp's default micro-batch
ACTIVATION_TENSORS = 32  # as hearth.models.ram counts them
_BLOCK = re.compile(r"^blk\.(\d+)\.")


class InvalidGpuChoice(HearthError, ValueError):
    """--gpu or $HEARTH_GPU is not auto, off or a number of layers."""


@dataclass(frozen=True)
class ModelLayout:
    """What each part of a model takes on a GPU, at one context size."""

    blocks: list[int]  # each repeating block's weights, in file order
    output_bytes: int  # the output layer (its own tensor, or a copy of the embeddings)
    kv_bytes_per_block: int
    compute_bytes: int  # attention and activations of one micro-batch
    logits_bytes: int  # the output layer's share of the compute buffer

    @property
    def offloadable(self) -> int:
        """Layers as llama.cpp counts them: the blocks and the output layer."""
        return len(self.blocks) + 1

    def gpu_bytes(self, layers: int) -> int:
        """Device memory ``layers`` offloaded layers take (0 for none)."""
        layers = max(0, min(layers, self.offloadable))
        if layers == 0:
            return 0
        repeating = self.blocks[len(self.blocks) - (layers - 1) :] if layers > 1 else []
        return (
            self.output_bytes
            + self.logits_bytes
            + self.compute_bytes
            + sum(repeating)
            + self.kv_bytes_per_block * len(repeating)
        )


def model_layout(path: Path, n_ctx: int) -> ModelLayout:
    """Read ``path``'s tensor sizes and attention shape (GGUF header and tensor table)."""
    from gguf import GGUFReader

    from hearth.models.gguf_metadata import read_gguf_metadata
    from hearth.models.ram import estimate_ram

    metadata = read_gguf_metadata(path)
    reader = GGUFReader(str(path))
    blocks: dict[int, int] = {}
    embeddings = output = output_norm = 0
    for tensor in reader.tensors:
        size = int(tensor.n_bytes)
        block = _BLOCK.match(tensor.name)
        if block:
            blocks[int(block.group(1))] = blocks.get(int(block.group(1)), 0) + size
        elif tensor.name == "token_embd.weight":
            embeddings = size
        elif tensor.name == "output.weight":
            output = size
        elif tensor.name.startswith("output_norm"):
            output_norm += size
    block_count = int(metadata.arch_field("block_count", len(blocks)))
    ram = estimate_ram(metadata, n_ctx)
    n_ctx = min(n_ctx, metadata.context_length) if metadata.context_length else n_ctx
    embedding = int(metadata.arch_field("embedding_length", 0))
    heads = metadata.arch_field("attention.head_count", 0)
    heads = max(heads) if isinstance(heads, list) and heads else int(heads or 0)
    return ModelLayout(
        blocks=[blocks.get(index, 0) for index in range(block_count)],
        # Without an output tensor the model reads its embeddings back, and llama.cpp puts
        # a copy of them with the output layer.
        output_bytes=(output or embeddings) + output_norm,
        kv_bytes_per_block=ram.kv_cache_bytes // max(1, block_count),
        # Flash attention is off: the attention scores of a micro-batch over the context.
        compute_bytes=n_ctx * UBATCH * heads * 4 + UBATCH * embedding * 4 * ACTIVATION_TENSORS,
        logits_bytes=UBATCH * metadata.vocab_size * 4,
    )


def usable_bytes(free_bytes: int) -> int:
    """Of ``free_bytes`` on a device, what Hearth lets a model take."""
    return max(0, free_bytes - max(MARGIN_MIN_BYTES, int(free_bytes * MARGIN_SHARE)))


def layers_that_fit(layout: ModelLayout, free_bytes: int) -> int:
    """The most layers whose estimate fits in ``free_bytes`` less the margin."""
    budget = usable_bytes(free_bytes)
    fitting = 0
    for layers in range(1, layout.offloadable + 1):
        if layout.gpu_bytes(layers) > budget:
            break
        fitting = layers
    return fitting


@dataclass(frozen=True)
class OffloadPlan:
    layers: int  # what llama.cpp is asked for (n_gpu_layers)
    offloadable: int
    reason: str  # one line for the log and `hearth doctor`


def plan_offload(choice: str, layout: ModelLayout | None, free_bytes: int) -> OffloadPlan:
    """How many layers to ask llama.cpp for, given the choice and the devices' free memory
    (``layout`` None: no GPU device, or "off")."""
    if layout is None or choice == "off":
        why = "GPU off" if choice == "off" else "no Vulkan GPU"
        return OffloadPlan(0, layout.offloadable if layout else 0, why)
    if choice != "auto":
        layers = min(int(choice), layout.offloadable)
        return OffloadPlan(layers, layout.offloadable, f"{layers} layers asked for")
    layers = layers_that_fit(layout, free_bytes)
    need = layout.gpu_bytes(layout.offloadable) / MIB
    return OffloadPlan(
        layers,
        layout.offloadable,
        f"{layers} of {layout.offloadable} layers fit in {free_bytes / MIB:.0f} MiB free "
        f"(all would take about {need:.0f} MiB)",
    )


def uses_gpu(choice: str) -> bool:
    """Whether a load with ``choice`` may use a GPU: not "off", and the install built the
    Vulkan backend."""
    from hearth.engine.backends import vulkan_backend_file

    return choice not in ("off", "0") and vulkan_backend_file().is_file()


def vram_of(devices: Iterable[VulkanDevice]) -> int:
    """What models may take of the GPUs' own memory: each discrete GPU's free memory (its
    whole memory where the driver does not say) less the margin. An integrated GPU's
    memory is the RAM, already counted; a CPU device is no GPU."""
    return sum(
        usable_bytes(device.memory_bytes if device.free_bytes is None else device.free_bytes)
        for device in devices
        if device.kind == "discrete GPU"
    )


def usable_vram(choice: str) -> int:
    """The VRAM a load with ``choice`` may use besides the RAM: 0 with the GPU off or no
    Vulkan build (the Vulkan loader is not even opened then)."""
    if not uses_gpu(choice):
        return 0
    from hearth.engine.vulkan import vulkan_devices

    return vram_of(vulkan_devices())


LAST_LOAD_FILE = "engine-last-load.json"


def record_load(path: Path, status: EngineStatus) -> None:
    """Remember where the last model ran, for `hearth doctor` (best effort)."""
    record = {
        "model": path.name,
        "at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "device": status.device_summary(),
        "gpu_devices": list(status.gpu_devices),
        "note": status.gpu_note,
    }
    target = hearth_paths().cache / LAST_LOAD_FILE
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        log.info("could not write %s (%s)", target, error)


def last_load() -> dict[str, Any] | None:
    """What record_load wrote last; None before the first load."""
    try:
        value = json.loads((hearth_paths().cache / LAST_LOAD_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
