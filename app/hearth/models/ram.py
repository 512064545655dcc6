"""Estimate how much memory loading a GGUF model will take, before loading it.

weights (memory-mapped, all touched during inference) + KV cache at the requested
context + llama.cpp's compute and output buffers. The KV cache follows llama.cpp's own
layout: f16 keys and values for every layer and every context cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hearth.models.gguf_metadata import GGUFMetadata

KV_BYTES_PER_VALUE = 2  # llama.cpp's default KV cache type is f16
MIB = 1024 * 1024
UBATCH = 512  # llama.cpp's default micro-batch; compute buffers scale with it
# Measured on llama.cpp's CPU backend (Gemma 3 270M, contexts 2k-16k, short and 1.6k-token
# prompts): resident overhead beyond weights and KV cache was 88-101 MiB, which these
# three terms reproduce within 10%.
TOKENIZER_BYTES_PER_TOKEN = 200
ACTIVATION_TENSORS = 32


@dataclass(frozen=True)
class RamEstimate:
    weights_bytes: int
    kv_cache_bytes: int
    compute_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.compute_bytes


def _per_layer(value: Any, layers: int) -> list[int]:
    """GGUF stores some per-layer values as one number, others as an array per layer."""
    if isinstance(value, list) and value:
        return [int(v) for v in value[:layers]] + [int(value[-1])] * max(0, layers - len(value))
    return [int(value)] * layers


def estimate_ram(metadata: GGUFMetadata, n_ctx: int) -> RamEstimate:
    """Resident memory after loading at ``n_ctx`` and evaluating a full micro-batch."""
    layers = int(metadata.arch_field("block_count", 0))
    heads = _per_layer(metadata.arch_field("attention.head_count", 0), layers)
    kv_heads = _per_layer(metadata.arch_field("attention.head_count_kv", heads or 0), layers)
    embedding = int(metadata.arch_field("embedding_length", 0))
    if metadata.context_length:
        n_ctx = max(1, min(n_ctx, metadata.context_length))
    kv_bytes = 0
    for layer in range(layers):
        head_dim = embedding // heads[layer] if heads[layer] else 0
        key_length = int(metadata.arch_field("attention.key_length", head_dim))
        value_length = int(metadata.arch_field("attention.value_length", head_dim))
        # llama-cpp-python asks for a full-size cache on sliding-window layers too, so
        # every layer holds the whole context.
        kv_bytes += n_ctx * kv_heads[layer] * (key_length + value_length) * KV_BYTES_PER_VALUE
    # llama.cpp reserves a compute buffer sized for a micro-batch of full-vocabulary logits
    # but only touches a fraction of it; what becomes resident is the tokenizer's tables,
    # one micro-batch of activations and the attention mask over the context.
    compute = (
        metadata.vocab_size * TOKENIZER_BYTES_PER_TOKEN
        + UBATCH * embedding * 4 * ACTIVATION_TENSORS
        + n_ctx * UBATCH * 4
    )
    return RamEstimate(
        weights_bytes=metadata.weights_bytes, kv_cache_bytes=kv_bytes, compute_bytes=compute
    )


def available_memory_bytes() -> int:
    import psutil  # imported here: it is not needed to list models, only to compare

    return int(psutil.virtual_memory().available)
