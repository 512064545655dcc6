"""Keep every dependency offline and quiet before any of them is imported.

Hugging Face libraries try the hub unless told not to, and chromadb sends anonymous
telemetry by default. Hearth never downloads anything at run time, so both are switched
off here, once, at the very start of every entry point (and inherited by child
processes through the environment).
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def enforce_offline() -> None:
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ[key] = value
