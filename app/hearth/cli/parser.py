"""The argument parser: every command, its options and help, and the handler it runs."""

from __future__ import annotations

import argparse

from hearth import __version__
from hearth.cli.answers import cmd_ask, cmd_chat, cmd_summarize
from hearth.cli.documents import cmd_docs_list, cmd_docs_remove, cmd_index, cmd_search
from hearth.cli.models import (
    cmd_doctor,
    cmd_models_add,
    cmd_models_default,
    cmd_models_list,
    cmd_models_remove,
)
from hearth.cli.serve import cmd_serve
from hearth.settings import MAX_ANSWER_TOKENS


def answer_length(text: str) -> int:
    """A --max-tokens value: 0 (the settings') up to MAX_ANSWER_TOKENS; a negative one would
    let llama.cpp write until the context is full."""
    try:
        tokens = int(text)
    except ValueError:
        tokens = -1
    if not 0 <= tokens <= MAX_ANSWER_TOKENS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of tokens from 0 to {MAX_ANSWER_TOKENS}"
        )
    return tokens


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Hearth: a private, offline assistant for your documents.",
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    parser.add_argument(
        "--engine-url",
        metavar="URL",
        help="generate with the OpenAI-compatible model server at URL (a base URL ending in "
        "/v1) instead of Hearth's own engine; also $HEARTH_ENGINE_URL or the engine_url setting",
    )
    parser.add_argument(
        "--chroma-url",
        metavar="URL",
        help="keep the index's vectors on the chromadb server at URL (http://host:port); also "
        "$HEARTH_CHROMA_URL or the chroma_url setting",
    )
    parser.add_argument(
        "--gpu",
        metavar="auto|off|N",
        help="run the model on a Vulkan GPU: auto (as many layers as fit), off, or N layers; "
        "also $HEARTH_GPU or the gpu setting",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    models = commands.add_parser("models", help="list, add, remove and choose GGUF models")
    models_commands = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = models_commands.add_parser("list", help="installed models")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cmd_models_list)
    add = models_commands.add_parser(
        "add", help="import a .gguf file, or set up a model that ships with Hearth by its id"
    )
    add.add_argument("path", metavar="PATH_OR_ID")
    add.set_defaults(handler=cmd_models_add)
    remove = models_commands.add_parser("remove", help="delete an installed model")
    remove.add_argument("id")
    remove.set_defaults(handler=cmd_models_remove)
    default = models_commands.add_parser("default", help="choose the default model")
    default.add_argument("id")
    default.set_defaults(handler=cmd_models_default)
    from hearth.cli.hub import add_commands as add_models_hub_commands

    add_models_hub_commands(models_commands)

    chat = commands.add_parser("chat", help="one chat turn with a model (no documents)")
    chat.add_argument("prompt")
    chat.add_argument("--model", help="model id (default: the default model)")
    chat.add_argument(
        "--max-tokens", type=answer_length, default=0, help="answer length limit (tokens)"
    )
    chat.add_argument("--json", action="store_true", help="print JSON")
    chat.set_defaults(handler=cmd_chat)

    index = commands.add_parser("index", help="add files and folders to the document index")
    index.add_argument("paths", nargs="+", metavar="PATH")
    index.add_argument("--json", action="store_true", help="print JSON")
    index.add_argument(
        "--again", action="store_true", help="read the files again even where unchanged"
    )
    index.add_argument(
        "--watch",
        action="store_true",
        help="keep the index in step with the paths until Ctrl+C (changes while stopped "
        "are found at the next start)",
    )
    index.set_defaults(handler=cmd_index, uses_index=True)

    docs = commands.add_parser("docs", help="list or remove indexed documents")
    docs_commands = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    docs_list = docs_commands.add_parser("list", help="indexed documents")
    docs_list.add_argument("--json", action="store_true", help="print JSON")
    docs_list.set_defaults(handler=cmd_docs_list, uses_index=True)
    docs_remove = docs_commands.add_parser("remove", help="remove a document from the index")
    docs_remove.add_argument("path")
    docs_remove.set_defaults(handler=cmd_docs_remove, uses_index=True)

    search = commands.add_parser("search", help="find passages in your documents (no model)")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="how many passages (default 5)")
    search.add_argument(
        "--deep", action="store_true", help="let the default model read the question first"
    )
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(handler=cmd_search, uses_index=True)

    ask = commands.add_parser("ask", help="answer a question from your documents, with sources")
    ask.add_argument("question")
    ask.add_argument("--model", help="model id (default: the default model)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.add_argument("--no-tools", action="store_true", help="answer without tools")
    ask.add_argument(
        "--max-tokens",
        type=answer_length,
        default=0,
        help="answer length limit in tokens (default: the settings')",
    )
    follow = ask.add_mutually_exclusive_group()
    follow.add_argument(
        "-c",
        "--continue",
        dest="continue_conversation",
        action="store_true",
        help="follow up on the latest conversation (its questions give this one its subject)",
    )
    follow.add_argument(
        "--conversation", type=int, metavar="ID", help="follow up on conversation ID"
    )
    ask.set_defaults(handler=cmd_ask, uses_index=True)

    summarize = commands.add_parser("summarize", help="summarise an indexed document")
    summarize.add_argument("document", help="path, file name or part of it")
    summarize.add_argument("--model", help="model id (default: the default model)")
    summarize.add_argument("--json", action="store_true", help="print JSON")
    summarize.set_defaults(handler=cmd_summarize, uses_index=True)

    doctor = commands.add_parser(
        "doctor", help="what a bug report needs: versions, CPU, llama.cpp build, models"
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.add_argument("--no-engine", action="store_true", help="skip loading the default model")
    doctor.set_defaults(handler=cmd_doctor)

    from hearth.server.run import DEFAULT_HOST, DEFAULT_MAX_WAITING, DEFAULT_PORT

    serve = commands.add_parser(
        "serve",
        help="an OpenAI-compatible API for other programs (answers from your documents with "
        "their sources, embeddings, search)",
    )
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)"
    )
    serve.add_argument(
        "--token",
        help="the bearer token requests must carry (required beyond loopback: made up and "
        "printed once if not given)",
    )
    serve.add_argument(
        "--max-queue",
        type=int,
        default=DEFAULT_MAX_WAITING,
        help=f"requests that may wait for the model; more are refused with 429 (default "
        f"{DEFAULT_MAX_WAITING})",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host header names NAME (repeatable); by default only "
        "the --host address and localhost are answered, which keeps web pages that rebind "
        "their own name to this address out (an all-interfaces --host answers any name, "
        "behind its token)",
    )
    serve.set_defaults(handler=cmd_serve, uses_index=True)

    return parser
