"""The ``deepgrad`` command: argument parsing, dispatch, and one-line errors.

Every user error (bad config, missing file, corrupt model file, data that doesn't fit the
model) ends with one line on stderr, ``deepgrad: error: ...``, and exit code 2; ``--debug``
shows the traceback instead. Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
from collections.abc import Callable
from typing import Any, NoReturn

from .errors import CLIError

__all__ = ["main", "build_parser"]

_EXAMPLES = {
    "train": """
        examples:
          deepgrad train                                  # the course's planar flower
          deepgrad train examples/mnist_mlp.yaml --epochs 3 --out runs/mnist
          deepgrad train my.yaml --lr 0.01 --batch-size 64 --seed 1 --quiet
        writes into --out (default runs/<config name>-<time>, a new directory for every
        run): model.dg, history.csv, config.yaml (the resolved config), learning_curve.png,
        decision_boundary.png (2-D inputs). An --out that already holds files is refused
        unless --overwrite. Ctrl-C stops at once and saves the model as it is (exit 130);
        a second Ctrl-C quits without saving. Config format: examples/*.yaml, the README.""",
    "evaluate": """
        examples:
          deepgrad evaluate runs/planar/model.dg planar
          deepgrad evaluate runs/mnist/model.dg mnist:test
          deepgrad evaluate runs/reg/model.dg examples/data/regression.csv
        DATA: a built-in dataset name, mnist[:test|:train], fashion-mnist[:split],
        catvnoncat[:split], or a .csv / .npz / .h5 / IDX file (see deepgrad datasets).""",
    "predict": """
        examples:
          deepgrad predict runs/planar/model.dg planar -o predictions.csv
          deepgrad predict runs/reg/model.dg new_rows.csv        # CSV to stdout
        Output: index, class, prob_<class>... for classifiers; index, <target> for
        regression. The model's preprocessing (scaling, flattening, standardization) is
        applied to DATA first.""",
    "summary": """
        examples:
          deepgrad summary runs/mnist/model.dg
          deepgrad summary runs/resnet/model.dg --plot model.png   # also .svg, .pdf, .dot
        --plot draws the layer graph (Graphviz's dot when installed, else matplotlib).""",
    "convert": """
        examples:
          deepgrad convert runs/mnist/model.dg model.onnx         # ONNX, for ONNX Runtime & co
          deepgrad convert resnet.onnx resnet.dg                  # import a pretrained network
          deepgrad convert model.dg weights.safetensors           # weights for PyTorch
          deepgrad convert weights.safetensors model.dg --arch model.dg
        the format follows the extension: .dg, .onnx, .safetensors.""",
    "datasets": """
        examples:
          deepgrad datasets
          DEEPGRAD_DATA=/data deepgrad datasets     # where the file datasets are looked for""",
    "gradcheck": """
        examples:
          deepgrad gradcheck examples/planar_flower.yaml
          deepgrad gradcheck examples/mnist_cnn.yaml --examples 2
        Exit code 0 when every relative error is below 1e-3, else 1. Entries whose finite
        differences cross a kink (relu at 0, max-pool ties) are counted in the kinks column
        and left out; if the initial weights have any, the whole check is repeated at a
        nearby seeded point and that run decides.""",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"deepgrad: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def _positive_int(v: str, what: str = "a positive integer") -> int:
    try:
        n = int(v)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected {what}, got {v!r}")
    return n


def _batch_size(v: str) -> int | str:
    return v if v == "full" else _positive_int(v, "a positive integer or 'full'")


def _positive_float(v: str) -> float:
    try:
        x = float(v)
    except ValueError:
        x = math.nan
    if not (math.isfinite(x) and x > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {v!r}")
    return x


def _sub(subs: Any, name: str, help_: str, fn: Callable[[Any], int]) -> argparse.ArgumentParser:
    p = subs.add_parser(name, help=help_, description=help_,
                        epilog=textwrap.dedent(_EXAMPLES[name]).strip(),
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=fn, command=name)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The parser for every subcommand (used by main and by the docs)."""
    from . import commands, convert_cmd, gradcheck_cmd, train_cmd

    parser = _Parser(prog="deepgrad", description="Train, evaluate and use deepgrad models "
                     "from the command line.", formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="run 'deepgrad COMMAND --help' for examples of each command.\n"
                     "quick start: deepgrad train   (trains the course's planar example)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subs = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    t = _sub(subs, "train", "train a model from a YAML/JSON config (default: planar flower)",
             train_cmd.run_train)
    t.add_argument("config", nargs="?", help="config file (.yaml, .yml or .json)")
    t.add_argument("--epochs", type=int, help="override the config's epochs")
    t.add_argument("--batch-size", type=_batch_size, help="override batch_size (or 'full')")
    t.add_argument("--lr", type=_positive_float, help="override the optimizer's learning rate")
    t.add_argument("--seed", type=int, help="override the random seed")
    t.add_argument("--out", metavar="DIR", help="output directory (new or empty)")
    t.add_argument("--threads", type=_positive_int, metavar="N",
                   help="BLAS threads (default: the free cores, re-checked while training)")
    t.add_argument("--overwrite", action="store_true",
                   help="let --out replace a previous run's files (swapped in when done)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="model summary and one line per epoch")
    for name, help_, fn in (("evaluate", "loss, metrics and confusion matrix on DATA",
                             commands.run_evaluate),
                            ("predict", "predictions for DATA as CSV", commands.run_predict)):
        p = _sub(subs, name, help_, fn)
        p.add_argument("model", help="model file (.dg written by deepgrad train, or .onnx)")
        p.add_argument("data", help="dataset name or file (see deepgrad datasets)")
        p.add_argument("--data-dir", metavar="DIR", help="directory with the dataset's files "
                       "(default $DEEPGRAD_DATA/<name>)")
        p.add_argument("--batch-size", type=int, default=256, help="examples per batch")
        if name == "predict":
            p.add_argument("-o", "--output", metavar="FILE", help="CSV file (default stdout)")
    s = _sub(subs, "summary", "layers, output shapes and parameter counts of a model file",
             commands.run_summary)
    s.add_argument("model", help="model file (.dg or .onnx)")
    s.add_argument("--plot", metavar="FILE", help="also draw the layer graph to FILE "
                   "(.png, .svg, .pdf, or .dot for Graphviz text)")
    v = _sub(subs, "convert", "convert a model between .dg, .onnx and .safetensors",
             convert_cmd.run_convert)
    v.add_argument("src", help="the model file to read (.dg, .onnx or .safetensors)")
    v.add_argument("dst", help="the file to write (.dg, .onnx or .safetensors)")
    v.add_argument("--arch", metavar="FILE", help="for a .safetensors SRC: the .dg or .onnx "
                   "model, or the training config, whose layers take the weights")
    v.add_argument("--input-shape", metavar="S", help="for .onnx output: one example's shape, "
                   "e.g. 1,28,28 (default: the shape the run recorded)")
    v.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    _sub(subs, "datasets", "list the built-in and file datasets", commands.run_datasets)
    c = _sub(subs, "gradcheck", "float64 gradient check of a configured model",
             gradcheck_cmd.run_gradcheck)
    c.add_argument("config", help="config file (.yaml, .yml or .json)")
    c.add_argument("--examples", type=int, default=4, help="examples to check on (default 4)")
    c.add_argument("--eps", type=float, default=1e-6,
                   help="finite-difference step (default 1e-6, at most 0.1)")
    c.add_argument("--max-elements", type=int, default=64,
                   help="check tensors up to this size entry by entry (default 64)")
    c.add_argument("--directions", type=int, default=6,
                   help="random directions for larger tensors (default 6)")
    return parser


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


def main(argv: list[str] | None = None) -> int:
    """Run ``deepgrad`` with ``argv``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `deepgrad predict ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\ndeepgrad: interrupted\n")
        return 130
    except (CLIError, FileNotFoundError, ValueError, ImportError, OSError,
            FloatingPointError) as e:  # FloatingPointError: training diverged
        if args.debug:
            raise
        sys.stderr.write(f"deepgrad: error: {_one_line(e)}\n")
        return 2
    except Exception as e:  # an unexpected failure: still one line, exit 1
        if args.debug:
            raise
        sys.stderr.write(f"deepgrad: error: {type(e).__name__}: {_one_line(e)} "
                         "(run with --debug for the traceback)\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
