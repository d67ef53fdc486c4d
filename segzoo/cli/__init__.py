"""The `segzoo` command: list, info, train, evaluate, predict, pull, export, hub manifest.

    segzoo list
    segzoo train --dataset shapes --image-size 64 --epochs 10 --out runs/shapes
    segzoo evaluate runs/shapes/best --data data/ --out runs/eval
    segzoo predict runs/shapes/best photo.png --out predictions/

docs/cli.md describes every subcommand. A mistake of the user's (a bad option, a missing
file, any segzoo.errors.SegzooError) ends with one line on stderr and exit status 2 for
bad arguments, 1 for the rest; no traceback. Each subcommand lives in its own module and
is a thin layer over library functions (segzoo.training, segzoo.inference, ...).
"""

import argparse
import sys

from segzoo._version import __version__
from segzoo.cli.common import one_line
from segzoo.cli.evaluate import add_evaluate
from segzoo.cli.export import add_export
from segzoo.cli.hub import add_hub, add_pull
from segzoo.cli.listing import add_info, add_list
from segzoo.cli.predict import add_predict
from segzoo.cli.train import add_train
from segzoo.errors import SegzooError

__all__ = ["build_parser", "main"]


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (SegzooError, OSError) as error:
        print(f"{args.prog}: error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error: '<prog>: error: <what> (see <prog> --help)'."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(prog="segzoo", description="A Keras 3 model zoo for semantic segmentation.")
    parser.add_argument("--version", action="version", version=f"segzoo {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_list, add_info, add_train, add_evaluate, add_predict, add_pull, add_export, add_hub):
        add(commands)
    return parser
