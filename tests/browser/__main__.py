"""``python -m tests.browser``: the browser check (``make browser-check``).

With no sprite it checks the bundled sample and the real MNIST where the tests find it
(``tests/realdata.py``: the cache ``mnist-sprite fetch`` fills, or a copy beside the project).
``--cases ci`` adds the re-encodings and the packed folders CI checks; ``--packed`` and the packs
of ``--cases ci`` are loaded by the NAME.js pack wrote. ``--browsers`` picks the engines
(``chromium,firefox,webkit``, the default: all three). One line per case and engine on stdout,
naming the engine and its version: ``browser: MATCH firefox 153.8.0: ...``, ``browser: DIFFER
...`` or ``browser: ERROR ...``; an engine that cannot be installed or started gives
``browser: ERROR <engine>: <why>`` and the others are still checked. Exit 0 when every case
matches in every engine, 1 when one differs, 2 when one could not run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from mnist_sprite.datasets import SAMPLE
from tests.browser import cases
from tests.browser.check import ERROR, Case, run_case
from tests.browser.engines import NAMES, Broken, Engine, open_engines, parse_names
from tests.browser.install import SetupError, ensure, say
from tests.browser.measured import run_loader_noise, run_noise, run_rules, run_tallest
from tests.browser.packed import Packed, run_packed
from tests.browser.pictures import Pictures, picture_cases, run_pictures
from tests.realdata import ADD_MNIST, ROOT, real_mnist

FOLDER = ROOT / ".browser"


def image_size(text: str) -> tuple[int, int]:
    h, _, w = text.lower().partition("x")
    if not (h.isdigit() and w.isdigit() and int(h) > 0 and int(w) > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not HxW, for example 28x28")
    return int(h), int(w)


def default_cases() -> list[Case]:
    sample = SAMPLE.paths()
    found = [Case("sample", sample["sprite"], sample["labels"], train=SAMPLE.train_size)]
    real = real_mnist()
    if real is None:
        say(f"MNIST not checked: {ADD_MNIST}, then make browser-check checks it too")
    else:
        found.append(Case("mnist", *real, train=55_000))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.browser",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sprite", type=Path, help="a sprite, one image per row")
    parser.add_argument("--labels", type=Path, help="its one-hot label bytes")
    parser.add_argument("--image-size", type=image_size, default=(28, 28), metavar="HxW")
    parser.add_argument("--train-size", type=int, metavar="N", help="as convert's --train-size")
    parser.add_argument("--channels", choices=("red", "rgb"), default="red")
    parser.add_argument("--draw-rows", type=int, metavar="N", help="data.js's chunkSize")
    parser.add_argument(
        "--packed", type=Path, metavar="NAME.json", help="a pack output, loaded by its NAME.js"
    )
    parser.add_argument(
        "--cases",
        choices=("default", "ci"),
        default="default",
        help="ci: also the re-encodings and a packed folder",
    )
    parser.add_argument(
        "--browsers",
        default=",".join(NAMES),
        metavar="LIST",
        help=f"the engines, comma-separated (default: {','.join(NAMES)})",
    )
    parser.add_argument(
        "--control",
        choices=("reciprocal",),
        help="the page computes v * (1/255): every case must DIFFER",
    )
    args = parser.parse_args(argv)
    if (args.sprite is None) != (args.labels is None):
        parser.error("give --sprite and --labels together")
    try:
        names = parse_names(args.browsers)
    except ValueError as e:
        parser.error(str(e))
    try:
        tools = ensure(FOLDER)
    except SetupError as e:
        print(f"browser: ERROR {e}")
        return ERROR
    engines = open_engines(names, tools, FOLDER)
    try:
        return check(args, engines)
    finally:
        for engine in engines:
            if isinstance(engine, Engine):
                engine.close()


def check(args: argparse.Namespace, engines: list[Engine | Broken]) -> int:
    """Every case in every engine; the worst verdict."""
    worst = ERROR if any(isinstance(e, Broken) for e in engines) else 0
    todo: list[Case | Packed | Pictures]
    with tempfile.TemporaryDirectory(prefix="browser-cases-") as tmp:
        if args.sprite is not None:
            todo = [
                Case(
                    args.sprite.name,
                    args.sprite,
                    args.labels,
                    args.image_size,
                    args.train_size,
                    args.channels,
                    args.draw_rows,
                )
            ]
        elif args.packed is not None:
            todo = [Packed(args.packed)]
        else:
            todo = [*default_cases()]
            if args.cases == "ci":
                todo += cases.ci_cases(Path(tmp))
                todo += picture_cases(Path(tmp) / "pictures")
        if args.control and any(isinstance(case, Packed) for case in todo):
            say("CONTROL= changes the page's arithmetic, not a pack's NAME.js: packs not checked")
            todo = [case for case in todo if not isinstance(case, Packed)]
        codes = [
            run_packed(case, engines)
            if isinstance(case, Packed)
            else run_pictures(case, engines, args.control)
            if isinstance(case, Pictures)
            else run_case(case, engines, args.control)
            for case in todo
        ]
        if args.cases == "ci" and not args.control:  # each engine's canvas, measured again
            sample = default_cases()[0]
            codes += [run_rules(engines), run_tallest(engines), run_noise(engines, sample)]
            packs = [case for case in todo if isinstance(case, Packed)]
            codes += [run_loader_noise(engines, packs[0])] if packs else []
    return max([worst, *codes])


if __name__ == "__main__":
    sys.exit(main())
