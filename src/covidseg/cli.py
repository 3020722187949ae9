"""The ``covidseg`` command line: a thin dispatcher over the Python API.

Each subcommand lives in its own module that defines ``configure(parser)`` (add its
arguments) and ``main(args) -> int`` (run, return the exit status). The modules are
imported only when their subcommand runs, so ``covidseg --help`` does not import torch.
User errors (:class:`covidseg.errors.CovidsegError`) print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from covidseg import __version__
from covidseg.errors import CovidsegError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "predict": ("covidseg.batch.cli", "segment lung and lesions in CT images/volumes and measure them"),
    "train": ("covidseg.training.cli", "train MA-UNet / U-Net on a COVID-SemiSeg-style folder"),
    "pseudolabel": ("covidseg.training.pseudolabel", "label unlabeled slices with teacher models (self-training)"),
    "evaluate": ("covidseg.evaluation.cli", "evaluate a model or predicted masks (binary and published protocols)"),
    "gui": ("covidseg.gui.cli", "open the desktop application"),
    "bench": ("covidseg.bench", "time the inference pipeline on this machine"),
}


def _load(name: str):
    module_name = COMMANDS[name][0]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None  # the subcommand is not implemented in this version
        raise


VERBOSE_HELP = "also show informational messages and the warnings of the libraries covidseg uses (nibabel, " \
               "pydicom, SimpleITK, Pillow, numpy, torch ...), one line each; by default only covidseg's own lines"


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="covidseg",
        description="Find and measure COVID-19 pneumonia in chest CT (lung, lesion, GGO/consolidation).",
    )
    parser.add_argument("--version", action="version", version=f"covidseg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # Also after the subcommand; SUPPRESS keeps a top-level -v from being reset to False.
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
        # Only the chosen subcommand's module is imported (keeps --help fast).
        if name == selected:
            module = _load(name)
            if module is not None:
                module.configure(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Before any subcommand module (torch, nibabel ...) is imported: library warnings go to
    # the log, shown with --verbose only (the one-line-per-problem promise).
    from covidseg import logs

    logs.configure(verbose=any(a in ("-v", "--verbose") for a in argv))
    selected = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(selected)
    args = parser.parse_args(argv)
    logs.configure(verbose=bool(getattr(args, "verbose", False)))  # as parsed (e.g. an input named -v)
    if args.command is None:
        parser.print_help()
        return 0
    module = _load(args.command)
    if module is None:
        print(f"covidseg: error: '{args.command}' is not available in this version", file=sys.stderr)
        return 1
    try:
        return int(module.main(args) or 0)
    except CovidsegError as exc:
        print(f"covidseg: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("covidseg: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
