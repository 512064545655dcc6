"""`hearth models search`, `hearth models download` and `hearth models token`: getting
models from Hugging Face on the command line (the core is hearth.models.hub and
hearth.models.downloads; hearth.cli.parser registers these)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING, Any

from hearth.settings import load_settings
from hearth.terminal import TerminalProgress, for_terminal

if TYPE_CHECKING:  # the hub's modules load with the commands that use them
    from hearth.models.hub import RepoListing

EXIT_INTERRUPTED = 130


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def print_listing(listing: RepoListing) -> None:
    from hearth.models.downloads import format_size

    print(f"{for_terminal(listing.repo_id)}: {for_terminal(listing.name)}")
    if not listing.choices:
        print("  No GGUF model files in this repository.")
        return
    print(f"  {'QUANT':<10} {'SIZE':>8} {'RAM':>8}  {'THIS COMPUTER':<13} FILE")
    for choice in listing.choices:
        mark = "  (recommended)" if choice.recommended else ""
        parts = f" + {len(choice.files) - 1} parts" if len(choice.files) > 1 else ""
        print(
            f"  {choice.quantization:<10} {format_size(choice.size_bytes):>8} "
            f"{format_size(choice.ram.total_bytes):>8}  {choice.fit.value:<13} "
            f"{for_terminal(choice.file_name)}{parts}{mark}"
        )
    if listing.estimate_note:
        print(f"  Note: {listing.estimate_note}")
    if listing.gated:
        print("  Gated: accept its terms on the website and add a token (hearth models token).")


def cmd_models_search(args: argparse.Namespace) -> int:
    from hearth.models.hub import hub_endpoint, list_repo, parse_reference, search_models

    query = " ".join(args.words)
    settings = load_settings()
    reference = parse_reference(query)
    if reference is not None:
        listing = list_repo(reference.repo_id, settings)
        if args.json:
            _print_json(listing.to_json())
        else:
            print_listing(listing)
            print(f"\nDownload: hearth models download {listing.repo_id} [FILE | --quant QUANT]")
        return 0
    found = search_models(query, settings)
    if args.json:
        _print_json([summary.to_json() for summary in found])
        return 0
    host = hub_endpoint(settings).split("://")[-1]
    if not found:
        print(f"No GGUF models on {host} match '{for_terminal(query)}'.")
        return 0
    print(f"{'REPOSITORY':<60} {'DOWNLOADS':>10} {'LIKES':>6}")
    for summary in found:
        gated = "  (gated)" if summary.gated else ""
        print(
            f"{for_terminal(summary.repo_id):<60} {summary.downloads:>10,} "
            f"{summary.likes:>6,}{gated}"
        )
    print("\nIts files: hearth models search OWNER/NAME")
    return 0


def cmd_models_download(args: argparse.Namespace) -> int:
    from hearth.models.catalogue import ModelCatalogue
    from hearth.models.downloads import (
        DownloadPlan,
        DownloadProgress,
        ModelDownloader,
        format_size,
    )
    from hearth.models.hub import (
        HubInputError,
        hub_endpoint,
        list_repo,
        load_token,
        parse_reference,
    )

    settings = load_settings()
    reference = parse_reference(args.repo)
    if reference is None:
        raise HubInputError(f"'{args.repo}' is not owner/name or the address of a repository")
    listing = list_repo(reference.repo_id, settings)
    choice = listing.choose(args.file or reference.file, args.quant)
    catalogue = ModelCatalogue()
    plan = DownloadPlan.for_choice(choice, catalogue.folder)
    downloader = ModelDownloader(catalogue, hub_endpoint(settings), load_token())
    already = downloader.bytes_on_disk(plan)
    resuming = f", resuming at {format_size(already)}" if already else ""
    print(
        f"Downloading {for_terminal(plan.local_names[0])} ({choice.quantization}, "
        f"{format_size(plan.total_bytes)}{resuming}) from {for_terminal(listing.repo_id)} "
        f"into {catalogue.folder}"
    )
    bar = TerminalProgress()

    def show(progress: DownloadProgress) -> None:
        bar(progress.done, progress.total, progress.rate())

    try:
        model = downloader.download(plan, show)
    except KeyboardInterrupt:
        print("\nStopped. The same command resumes the download where it stopped.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.default:
        catalogue.set_default(model.id)
    print(
        f"Downloaded {model.id} ({for_terminal(model.label)}, needs about "
        f"{format_size(model.ram_estimate(settings.n_ctx).total_bytes)})"
    )
    if not args.default:
        print(f"Make it the default: hearth models default {model.id}")
    return 0


def cmd_models_token(args: argparse.Namespace) -> int:
    from hearth.models.hub import forget_token, load_token, save_token

    if args.forget:
        print("Token removed." if forget_token() else "No token was saved.")
        return 0
    if sys.stdin.isatty():
        token = getpass.getpass("Hugging Face token (input hidden): ")
    else:
        token = sys.stdin.readline()
    path = save_token(token)
    print(f"Token saved in {path} (readable by you only).")
    if load_token() != token.strip():
        print("Note: $HF_TOKEN is set and is used instead while it is.")
    return 0


def add_commands(models_commands: Any) -> None:
    """Add search, download and token to `hearth models` (``models_commands`` is its
    argparse sub-parsers)."""
    search = models_commands.add_parser(
        "search",
        help="find GGUF models on Hugging Face by words; OWNER/NAME or an address lists "
        "that repository's files",
    )
    search.add_argument("words", nargs="+", metavar="WORDS")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(handler=cmd_models_search)
    download = models_commands.add_parser(
        "download",
        help="download a GGUF model from Hugging Face (the quantisation recommended for this "
        "computer unless FILE or --quant names one); resumes where it stopped",
    )
    download.add_argument("repo", metavar="REPO", help="owner/name or the repository's address")
    download.add_argument("file", nargs="?", metavar="FILE", help="a GGUF file of the repository")
    download.add_argument("--quant", metavar="QUANT", help="a quantisation, e.g. Q4_K_M")
    download.add_argument("--default", action="store_true", help="make it the default model")
    download.set_defaults(handler=cmd_models_download)
    token = models_commands.add_parser(
        "token",
        help="save a Hugging Face token for gated models (read from the terminal or stdin; "
        "kept in Hearth's data folder, readable by you only)",
    )
    token.add_argument("--forget", action="store_true", help="remove the saved token")
    token.set_defaults(handler=cmd_models_token)
