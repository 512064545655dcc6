"""Headless commands: models, chat (and, as they land, index, search, ask, summarize).

Every command's --json output is a contract other tools rely on. Errors the user can fix
(a bad file, an unknown id) print one line naming the file and the reason, and exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hearth import __version__
from hearth.engine.errors import EngineError
from hearth.errors import HearthError
from hearth.instance_lock import EXIT_LOCKED, InstanceLocked
from hearth.logging_setup import setup_logging
from hearth.models.catalogue import ModelCatalogue, ModelError, ModelInfo
from hearth.settings import load_settings
from hearth.terminal import (
    StageLine,
    StreamedAnswer,
    TerminalProgress,
    for_terminal,
    index_progress,
    text_for_terminal,
)

if TYPE_CHECKING:
    from hearth.assistant.conversations import Conversation, ConversationStore
    from hearth.assistant.workspace import Workspace
    from hearth.index.document_index import DocumentIndex

log = logging.getLogger(__name__)

EXIT_USAGE = 2


class CommandError(HearthError):
    """A failure to report in one line and exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _format_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _catalogue() -> ModelCatalogue:
    from hearth.engine.probe import probe_model_file
    from hearth.models.bundled import ensure_bundled_models

    catalogue = ModelCatalogue(probe=probe_model_file)
    ensure_bundled_models(catalogue, TerminalProgress())
    return catalogue


# -- models ----------------------------------------------------------------------------
def cmd_models_list(args: argparse.Namespace) -> int:
    from hearth.models.bundled import bundled_facts, installable_models

    settings = load_settings()
    catalogue = _catalogue()
    models = catalogue.list()
    if args.json:
        _print_json(
            [{**model.to_json(settings.n_ctx), **bundled_facts(model.id)} for model in models]
        )
        return 0
    if not models:
        print("No models installed. Add one with: hearth models add PATH")
    else:
        print(
            f"{'':2}{'ID':<36} {'SIZE':>6} {'QUANT':<8} {'CONTEXT':>8} "
            f"{'RAM @' + str(settings.n_ctx):>10}"
        )
    for model in models:
        marker = "* " if model.is_default else "  "
        ram = model.ram_estimate(settings.n_ctx).total_bytes
        facts = bundled_facts(model.id)
        note = "  (recommended for this computer)" if facts["recommended"] else ""
        print(
            f"{marker}{model.id:<36} {model.metadata.size_label:>6} "
            f"{model.metadata.quantization:<8} {model.metadata.context_length:>8} "
            f"{_format_bytes(ram):>10}{note}"
        )
        if facts["trade_off"]:
            print(f"{'':4}{facts['trade_off']}")
    for bundled in installable_models(catalogue):
        note = (
            "  (recommended for this computer)" if bundled_facts(bundled.id)["recommended"] else ""
        )
        print(
            f"  {bundled.id:<36} not set up ({_format_bytes(bundled.size_bytes)}): "
            f"hearth models add {bundled.id}{note}"
        )
        if bundled.trade_off:
            print(f"{'':4}{bundled.trade_off}")
    return 0


def cmd_models_add(args: argparse.Namespace) -> int:
    from hearth.models.bundled import bundled_model, set_up_model

    catalogue = _catalogue()
    bundled = None if Path(args.path).expanduser().exists() else bundled_model(args.path)
    try:
        if bundled is not None:
            model = catalogue.get(set_up_model(catalogue, bundled, TerminalProgress()).stem)
        else:
            model = catalogue.add(Path(args.path))
    except ModelError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    print(
        f"Added {model.id} ({model.name}, {model.metadata.size_label}, "
        f"{model.metadata.quantization})"
    )
    return 0


def cmd_models_remove(args: argparse.Namespace) -> int:
    try:
        _catalogue().remove(args.id)
    except ModelError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    print(f"Removed {args.id}")
    return 0


def cmd_models_default(args: argparse.Namespace) -> int:
    try:
        model = _catalogue().set_default(args.id)
    except ModelError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    print(f"Default model: {model.id}")
    return 0


# -- chat ------------------------------------------------------------------------------
def resolve_model(model_id: str | None) -> ModelInfo:
    try:
        return _catalogue().resolve(model_id)
    except ModelError as error:
        raise CommandError(str(error), EXIT_USAGE) from error


def cmd_chat(args: argparse.Namespace) -> int:
    from hearth.assistant.chat import answer_options
    from hearth.engine.prompts import ChatMessage

    started = time.perf_counter()
    with _workspace(args.model) as workspace:
        settings = workspace.settings
        messages: list[ChatMessage] = [
            {"role": "system", "content": settings.system_prompt},
            {"role": "user", "content": args.prompt},
        ]
        stream = workspace.engine.stream_chat(messages, answer_options(settings, args.max_tokens))
        pieces: list[str] = []
        for piece in stream:
            pieces.append(piece)
            if not args.json:
                sys.stdout.write(text_for_terminal(piece))
                sys.stdout.flush()
        model_id = workspace.ensure_model_loaded().id
    text = "".join(pieces).strip()
    if args.json:
        _print_json(
            {
                "model": model_id,
                "text": text,
                "prompt_tokens": stream.result.prompt_tokens,
                "completion_tokens": stream.result.completion_tokens,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
    else:
        print()
    return 0


# -- documents -------------------------------------------------------------------------
def _open_index(args: argparse.Namespace) -> DocumentIndex:
    from hearth.assistant.workspace import Workspace

    return Workspace(chroma_url=args.chroma_url).open_index()


def cmd_index(args: argparse.Namespace) -> int:
    if args.watch:
        return _watch_folders(args)
    with _open_index(args) as index:
        report = index.index_paths([Path(p) for p in args.paths], progress=index_progress())
    if args.json:
        _print_json(report.to_json())
        return 0
    for skipped in report.skipped:
        print(
            f"skipped {for_terminal(skipped.path)}: {for_terminal(skipped.reason)}",
            file=sys.stderr,
        )
    print(
        f"Indexed {len(report.indexed)}, unchanged {len(report.unchanged)}, skipped "
        f"{len(report.skipped)}: {report.chunks} chunks, {report.entities} entities "
        f"in {report.seconds:.1f} s"
    )
    return 0


def _watch_folders(args: argparse.Namespace) -> int:
    """Index the paths, then follow them until Ctrl+C (or SIGTERM): the first one asks the
    watcher to stop at the next safe point (no document half-written); a second one ends
    at once, and the next start reconciles."""
    import signal

    from hearth.index.folder_watch import FolderSync, FolderWatcher, SyncReport

    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        if stop_requested:
            raise KeyboardInterrupt
        stop_requested = True

    def show(report: SyncReport) -> None:
        if args.json:
            print(json.dumps(report.to_json(), ensure_ascii=False), flush=True)
            return
        for path in report.indexed:
            print(f"indexed {for_terminal(path)}", flush=True)
        for path in report.removed:
            print(f"removed {for_terminal(path)}", flush=True)
        for skipped in report.skipped:
            print(
                f"skipped {for_terminal(skipped.path)}: {for_terminal(skipped.reason)}",
                file=sys.stderr,
                flush=True,
            )

    previous = {
        number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with _open_index(args) as index:
            watcher = FolderWatcher(FolderSync(index, [Path(p) for p in args.paths]))
            if not args.json:
                print(f"Watching {', '.join(args.paths)}; Ctrl+C stops.", file=sys.stderr)
            watcher.run(lambda: stop_requested, show, index_progress())
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if not args.json:
        print("Stopped watching.", file=sys.stderr)
    return 0


def cmd_docs_list(args: argparse.Namespace) -> int:
    with _open_index(args) as index:
        documents = index.documents()
    if args.json:
        _print_json(
            [
                {
                    "path": d.path,
                    "title": d.title,
                    "kind": d.kind,
                    "pages": d.page_count,
                    "chunks": d.chunk_count,
                    "entities": d.entity_count,
                    "size_bytes": d.size_bytes,
                    "indexed_at": d.indexed_at,
                }
                for d in documents
            ]
        )
        return 0
    if not documents:
        print("No documents indexed yet. Add some with: hearth index PATH")
    for d in documents:
        pages = f"{d.page_count} pages, " if d.page_count else ""
        print(f"{for_terminal(d.path)}  ({d.kind}, {pages}{d.chunk_count} chunks)")
    return 0


def cmd_docs_remove(args: argparse.Namespace) -> int:
    with _open_index(args) as index:
        removed = index.remove(args.path)
    if not removed:
        raise CommandError(f"{args.path}: not in the index (see 'hearth docs list')", EXIT_USAGE)
    print(f"Removed {args.path}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if args.deep:
        from hearth.assistant.query_step import plan_search

        # The question step needs the model; everything else stays as without it.
        with _workspace(None, args.chroma_url) as workspace:
            plan = plan_search(args.query, workspace.engine).plan
            hits = workspace.index.search(args.query, k=args.k, plan=plan)
    else:
        with _open_index(args) as index:
            hits = index.search(args.query, k=args.k)
    if args.json:
        _print_json([hit.to_json() for hit in hits])
        return 0
    if not hits:
        print("Nothing found.")
    for number, hit in enumerate(hits, start=1):
        where = Path(hit.document).name + (f", p. {hit.page}" if hit.page else "")
        snippet = for_terminal(" ".join(hit.chunk.text.split())[:160])
        print(f"[{number}] {for_terminal(where)}  (score {hit.score:.3f})\n    {snippet}")
    return 0


def _workspace(model_id: str | None, chroma_url: str | None = None) -> Workspace:
    """A Workspace with the requested (or default) model loaded."""
    from hearth.assistant.workspace import Workspace

    model = resolve_model(model_id)
    workspace = Workspace(chroma_url=chroma_url)
    try:
        workspace.load_model(model)
    except BaseException:
        workspace.close()
        raise
    return workspace


def cmd_ask(args: argparse.Namespace) -> int:
    from hearth.assistant.chat import TurnRequest, answer_turn, history_from
    from hearth.assistant.citations import numbered_source_label

    status = StageLine()
    streamed = StreamedAnswer()

    def show(piece: str) -> None:
        if not args.json:
            status.clear()
            streamed.piece(piece)

    with _workspace(args.model, args.chroma_url) as workspace:
        # Every question is kept as a conversation (as the window keeps them), so that
        # --continue can follow up on it: the follow-up is searched with its subject.
        store = workspace.conversations
        conversation = _conversation_to_continue(store, args)
        if conversation is None:
            conversation = store.create(args.question[:48])
        history = history_from(store.messages(conversation.id))
        request = TurnRequest.in_conversation(conversation, args.question, history)
        if args.no_tools:
            request = replace(request, tools=False)
        result = answer_turn(workspace, request, show, status.show)
        store.add_message(conversation.id, "user", args.question)
        store.add_message(
            conversation.id,
            "assistant",
            result.text,
            sources=result.sources,
            tool_calls=result.tool_calls,
            cited=result.cited,
            unsupported=result.unsupported,
        )
    if args.json:
        _print_json(
            {
                "answer": result.text,
                "sources": result.sources,
                "cited": result.cited,
                "unsupported": result.unsupported,
                "tool_calls": result.tool_calls,
                "conversation": conversation.id,
                "search_query": result.search_query,
            }
        )
        return 0
    streamed.settle(result.text)
    print()
    for call in result.tool_calls:
        output = for_terminal(call["result"][:80])
        print(f"  tool {call['tool']}({json.dumps(call['arguments'])}) -> {output}")
    cited = [s for n in result.cited for s in result.sources if s["n"] == n]
    for source in cited:
        print(f"  {for_terminal(numbered_source_label(source))}")
    for statement in result.unsupported:
        print(f"  (not found in the sources: {for_terminal(statement)})")
    others = len(result.sources) - len(cited)
    if others:
        print(f"  ({others} other source{'s' if others != 1 else ''} read: ask --json lists all)")
    return 0


def _conversation_to_continue(
    store: ConversationStore, args: argparse.Namespace
) -> Conversation | None:
    """The conversation ``--conversation ID`` names, or with ``--continue`` the latest one."""
    if args.conversation is not None:
        try:
            return store.get(args.conversation)
        except KeyError:
            raise CommandError(
                f"there is no conversation {args.conversation}"
                " (hearth ask --continue takes the latest)",
                EXIT_USAGE,
            ) from None
    if args.continue_conversation:
        latest = store.search()
        if not latest:
            raise CommandError("there is no conversation to continue yet", EXIT_USAGE)
        return latest[0]
    return None


def cmd_summarize(args: argparse.Namespace) -> int:
    from hearth.tools.builtin import resolve_document
    from hearth.tools.registry import ToolError

    with _workspace(args.model, args.chroma_url) as workspace:
        try:
            path = resolve_document(workspace.index, args.document)
        except ToolError as error:
            raise CommandError(f"{args.document}: {error}", EXIT_USAGE) from error
        summary = workspace.summarizer().summarize(path, progress=TerminalProgress())
    if args.json:
        _print_json(summary.to_json())
        return 0
    print(text_for_terminal(summary.text))
    covered = len(summary.covered_entities)
    print(
        f"\n({summary.parts} parts, {summary.cached_parts} from cache, {summary.rounds} rounds, "
        f"{covered}/{len(summary.key_entities)} key entities, {summary.seconds:.1f} s)"
    )
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from hearth.doctor import doctor_report, format_report

    report = doctor_report(check_engine=not args.no_engine)
    if args.json:
        _print_json(report)
    else:
        print(format_report(report))
    engine = report["engine"]
    return 0 if engine is None or engine["ok"] else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from hearth.server.run import serve

    return serve(
        args.host,
        args.port,
        args.token,
        args.max_queue,
        TerminalProgress(),
        extra_hosts=args.allowed_host,
        chroma_url=args.chroma_url,
    )


def _apply_server_options(args: argparse.Namespace) -> None:
    """A bad --engine-url, --chroma-url or --gpu refused; --engine-url and --gpu as the
    environment variables the engine reads (--chroma-url goes to the Workspace)."""
    from hearth.settings import chroma_url_problem, engine_url_problem

    for url, variable, problem_of in (
        (args.engine_url, "HEARTH_ENGINE_URL", engine_url_problem),
        (args.chroma_url, None, chroma_url_problem),
    ):
        if url is not None:
            problem = problem_of(url) if url else None
            if problem:
                raise CommandError(problem, EXIT_USAGE)
            if variable:
                os.environ[variable] = url
    if args.gpu is not None:
        from hearth.settings import gpu_choice_problem

        if problem := gpu_choice_problem(args.gpu.strip().lower()):
            raise CommandError(problem, EXIT_USAGE)
        os.environ["HEARTH_GPU"] = args.gpu.strip().lower()


# -- parser ----------------------------------------------------------------------------
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
    from hearth.cli_models import add_commands as add_models_hub_commands

    add_models_hub_commands(models_commands)

    chat = commands.add_parser("chat", help="one chat turn with a model (no documents)")
    chat.add_argument("prompt")
    chat.add_argument("--model", help="model id (default: the default model)")
    chat.add_argument("--max-tokens", type=int, default=0, help="answer length limit")
    chat.add_argument("--json", action="store_true", help="print JSON")
    chat.set_defaults(handler=cmd_chat)

    index = commands.add_parser("index", help="add files and folders to the document index")
    index.add_argument("paths", nargs="+", metavar="PATH")
    index.add_argument("--json", action="store_true", help="print JSON")
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


def run_cli(argv: Sequence[str]) -> int:
    setup_logging()
    parser = build_parser()
    args = parser.parse_args(list(argv))
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    lock = None
    try:
        _apply_server_options(args)
        if getattr(args, "uses_index", False):
            from hearth.instance_lock import InstanceLock
            from hearth.paths import hearth_paths

            lock = InstanceLock(hearth_paths().data).acquire(f"hearth {args.command}")
        return handler(args)
    except InstanceLocked as error:
        print(f"hearth: {error}", file=sys.stderr)
        return EXIT_LOCKED
    except CommandError as error:
        log.info("command failed: %s", error)
        print(f"hearth: error: {error}", file=sys.stderr)
        return error.exit_code
    except (EngineError, ModelError) as error:
        log.exception("command failed")
        print(f"hearth: error: {error}", file=sys.stderr)
        return 1
    except HearthError as error:  # a chromadb server away, a setting out of range...
        log.exception("command failed")
        print(f"hearth: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if lock is not None:
            lock.release()
