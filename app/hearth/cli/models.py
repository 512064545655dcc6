"""`hearth models list | add | remove | default` (the models on this computer; getting them
from Hugging Face is hearth.cli.hub) and `hearth doctor`."""

from __future__ import annotations

import argparse
from pathlib import Path

from hearth.cli.shared import EXIT_USAGE, CommandError, open_catalogue, print_json
from hearth.models.catalogue import ModelError
from hearth.settings import load_settings
from hearth.terminal import TerminalProgress


def _format_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def cmd_models_list(args: argparse.Namespace) -> int:
    from hearth.models.bundled import bundled_facts, installable_models

    settings = load_settings()
    catalogue = open_catalogue()
    models = catalogue.list()
    if args.json:
        print_json(
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

    catalogue = open_catalogue()
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
        open_catalogue().remove(args.id)
    except ModelError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    print(f"Removed {args.id}")
    return 0


def cmd_models_default(args: argparse.Namespace) -> int:
    try:
        model = open_catalogue().set_default(args.id)
    except ModelError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    print(f"Default model: {model.id}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from hearth.doctor import doctor_report, format_report

    report = doctor_report(check_engine=not args.no_engine)
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    engine = report["engine"]
    return 0 if engine is None or engine["ok"] else 1
