"""`hearth index` (and `--watch`), `hearth docs list | remove` and `hearth search`: the
document index from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hearth.cli.shared import EXIT_USAGE, CommandError, open_index, open_workspace, print_json
from hearth.terminal import for_terminal, index_progress


def cmd_index(args: argparse.Namespace) -> int:
    if args.watch:
        return _watch_folders(args)
    with open_index(args) as index:
        report = index.index_paths(
            [Path(p) for p in args.paths], progress=index_progress(), reread=args.again
        )
    if args.json:
        print_json(report.to_json())
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
        with open_index(args) as index:
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
    with open_index(args) as index:
        documents = index.documents()
    if args.json:
        print_json(
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
    with open_index(args) as index:
        removed = index.remove(args.path)
    if not removed:
        raise CommandError(f"{args.path}: not in the index (see 'hearth docs list')", EXIT_USAGE)
    print(f"Removed {args.path}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if args.deep:
        from hearth.assistant.query_step import plan_search

        # The question step needs the model; everything else stays as without it.
        with open_workspace(None, args.chroma_url) as workspace:
            plan = plan_search(args.query, workspace.engine).plan
            hits = workspace.index.search(args.query, k=args.k, plan=plan)
    else:
        with open_index(args) as index:
            hits = index.search(args.query, k=args.k)
    if args.json:
        print_json([hit.to_json() for hit in hits])
        return 0
    if not hits:
        print("Nothing found.")
    for number, hit in enumerate(hits, start=1):
        where = Path(hit.document).name + (f", p. {hit.page}" if hit.page else "")
        snippet = for_terminal(" ".join(hit.chunk.text.split())[:160])
        print(f"[{number}] {for_terminal(where)}  (score {hit.score:.3f})\n    {snippet}")
    return 0
