"""The command line: parse options, call the library, print. The one place errors become exit codes.

Data goes to stdout only; messages and progress go to stderr. Every failure is one line,
``error: <file>: <what is wrong>; <what to do>``, exit 1 (2 for options that do not work).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

# Only what builds the options: --help and --version import neither numpy nor a format, and
# each command imports what it uses when it runs.
from . import datasets, progress
from ._version import __version__
from .datasets import ALL, Originals
from .errors import (
    INTERRUPTED,
    Interrupted,
    MnistSpriteError,
    OptionError,
    OutputError,
    StdoutClosed,
)
from .options import (
    CONVERSION,
    CONVERSIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    FORMATS,
    LAYOUTS,
    Options,
    parse_image_size,
)
from .registry import DEFAULT_TEST_SIZE, HELP, SOURCE_OPTIONS, prose

if TYPE_CHECKING:  # the command line starts without importing any format
    from .formats import Reader
    from .pipeline import Sources

F = TypeVar("F", bound=Callable[..., Any])

# Set to anything: an internal error prints its traceback before its one line.
DEBUG_ENV = "MNIST_SPRITE_DEBUG"


def _raise_interrupted(signum: int, _frame: object) -> NoReturn:
    raise Interrupted(signum)


def _install_signal_handlers() -> None:
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, _raise_interrupted)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    if hasattr(signal, "SIGXFSZ"):  # a file size limit becomes an error (EFBIG), not a crash
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _error(message: str, code: int, as_json: bool) -> int:
    """The one place a failure is shown: one line on stderr, and JSON on stdout if asked.
    A control character in it (a file name holding a newline) is shown escaped."""
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    click.echo(f"error: {message}", err=True)
    if as_json:
        import json

        with contextlib.suppress(OSError):
            click.echo(json.dumps({"ok": False, "error": message, "exit_code": code}))
    return code


def _wants_json(args: Sequence[str]) -> bool:
    """Did the command line ask for --json (before a ``--``)? Known even when parsing fails."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


_STDOUT_CLOSED = False  # started with no standard output at all (``>&-``)


def _open_closed_streams() -> None:
    """A program started with stdout or stderr closed still runs and exits cleanly: the
    closed stream becomes /dev/null (and ``--out -`` says stdout is closed)."""
    global _STDOUT_CLOSED
    if sys.stdout is None:
        _STDOUT_CLOSED = True
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush cannot fail noisily."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class _Cli(click.Group):
    """A click group whose every failure ends as one ``error:`` line and an exit code."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        extra["standalone_mode"] = False
        argv = list(sys.argv[1:] if args is None else args)
        as_json = _wants_json(argv)
        code = 0
        _open_closed_streams()
        try:
            _install_signal_handlers()
            # Shell completion answers from click's hook, which runs with no arguments.
            complete = f"_{(prog_name or 'mnist-sprite').replace('-', '_').upper()}_COMPLETE"
            if not argv and complete not in os.environ:
                # no command: the help, on stdout, as pip and docker give it
                with click.Context(self, info_name=prog_name or "mnist-sprite") as ctx:
                    click.echo(self.get_help(ctx))
                raise click.exceptions.Exit(0)
            result = super().main(argv, prog_name or "mnist-sprite", **extra)
            code = result if isinstance(result, int) else 0
        except click.exceptions.Exit as e:
            code = e.exit_code
        except click.UsageError as e:
            hint = f"; see '{e.ctx.command_path} --help'" if e.ctx else ""
            code = _error(e.format_message().rstrip(".") + hint, 2, as_json)
        except click.ClickException as e:
            code = _error(e.format_message(), e.exit_code, as_json)
        except StdoutClosed:  # as for a closed pipe: the reader has gone, nobody to tell
            _silence_stdout()
            code = 1
        except MnistSpriteError as e:
            code = _error(str(e), e.exit_code, as_json)
        except Interrupted as e:
            code = _error(e.message(), 1, as_json)
        except (KeyboardInterrupt, click.Abort):
            code = _error(INTERRUPTED, 1, as_json)
        except BrokenPipeError:
            _silence_stdout()
            code = 1
        except RecursionError:  # a folder or JSON record nested deeper than Python recurses
            message = (
                "an input is nested too deeply (folders or JSON more than about 1,000 levels "
                "deep); give a plain folder and records this tool wrote"
            )
            code = _error(message, 1, as_json)
        except OSError as e:  # a fault no library check foresaw: still one line
            where = f"{e.filename}: " if e.filename else ""
            message = f"{where}{e.strerror or e}; check the path, the disk and permissions"
            code = _error(message, 1, as_json)
        except Exception as e:  # a bug: one line, and the traceback only when asked for
            if os.environ.get(DEBUG_ENV):
                traceback.print_exc()
            message = (
                f"internal error ({type(e).__name__}: {e}); please report it with the command "
                f"you ran, and what {DEBUG_ENV}=1 prints before this line"
            )
            code = _error(" ".join(message.split()), 1, as_json)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
            code = code or 1
        sys.exit(code)


# -- options shared by several commands, defined once ------------------------------------

# Every path option is only a Path to click: the library checks it (exists, a regular file,
# readable, a folder) and says what is wrong in its own one line with README's exit code (1
# for a file that cannot be read), where click's own checks would say it as a usage error.
PATH = click.Path(path_type=Path, readable=False)


def formats_named(f: F) -> F:
    """A command whose help lists the formats lists the registry's (so a new one is listed)."""
    f.__doc__ = prose(f.__doc__ or "")
    return f


def choice(
    flag: str, choices: Sequence[str], default: str, help: str, *names: str
) -> Callable[[F], F]:
    """An option of named choices with its default shown; ``{words}`` of the registry filled."""
    kinds = click.Choice(choices)
    return click.option(
        flag, *names, type=kinds, default=default, show_default=True, help=prose(help)
    )


def cache_dir_option(f: F) -> F:
    return click.option(
        "--cache-dir",
        type=PATH,
        metavar="DIR",
        help="Cache folder (default: $MNIST_SPRITE_CACHE, else $XDG_CACHE_HOME/mnist-sprite, "
        "else ~/.cache/mnist-sprite).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")(f)


def quiet_option(f: F) -> F:
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages.")(f)


def conversion_options(*names: str) -> Callable[[F], F]:
    """The options of how a sprite becomes arrays that a command takes, as
    ``options.CONVERSION`` declares them (all of them when no name is given)."""
    kinds: dict[str, dict[str, Any]] = {
        "size": {"metavar": "HxW"},
        "count": {"type": click.IntRange(min=0), "metavar": "N"},
        "seed": {"type": int, "metavar": "S"},
        "flag": {"is_flag": True},
        "rows": {"type": click.IntRange(min=1), "metavar": "N"},
    }

    def decorate(f: F) -> F:
        for o in reversed([CONVERSIONS[n] for n in names] if names else CONVERSION):
            made = dict(kinds.get(o.kind, {"type": click.Choice(o.choices)}))
            if o.default is not None and o.kind != "flag":
                made |= {"default": o.default, "show_default": True}
            f = click.option(o.flag, help=prose(o.help), **made)(f)
        return f

    return decorate


def _dataset_names() -> str:
    """The known datasets as help lists them: the default first, the bundled one said."""
    names = [datasets.DEFAULT] + [n for n in ALL if n != datasets.DEFAULT]
    return ", ".join(
        f"{n} (the default)"
        if n == datasets.DEFAULT
        else f"{n} (bundled)"
        if ALL[n].bundled
        else f"{n} (the IDX files)"
        if n in datasets.ORIGINALS
        else n
        for n in names
    )


def _given(name: str) -> bool:
    """Did the command line give this option (rather than leave its default)?"""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source is not ParameterSource.DEFAULT


def source_options(f: F) -> F:
    for decorator in reversed(
        [
            click.option(
                "--sprite",
                type=PATH,
                metavar="PNG",
                help="The sprite PNG (one image per row). Give with --labels, or give a "
                "pack's NAME.json alone (all its shards).",
            ),
            click.option(
                "--labels",
                type=PATH,
                metavar="FILE",
                help="The label file (one-hot rows of 10 bytes). Give with --sprite.",
            ),
            click.option(
                "--dataset",
                type=click.Choice(sorted(ALL)),
                help=f"A known dataset, from the cache: {_dataset_names()}.",
            ),
            click.option("--offline", is_flag=True, help="Never download; use only the cache."),
        ]
    ):
        f = decorator(f)
    return f


def pack_source_options(f: F) -> F:
    """pack's options for its source, as registry.SOURCE_OPTIONS declares them."""
    types = {"path": PATH, "count": int, "seed": int, "size": str, "shape": str, "byte": int}
    for o in reversed(SOURCE_OPTIONS):
        if o.kind == "choice":
            f = click.option(o.flag, type=click.Choice(o.choices), help=o.help)(f)
        elif o.kind == "flag":
            f = click.option(o.flag, is_flag=True, help=o.help)(f)
        else:
            f = click.option(o.flag, type=types[o.kind], metavar=o.metavar, help=o.help)(f)
    return f


def _sources(
    dataset: str | None,
    sprite: Path | None,
    labels: Path | None,
    cache_dir: Path | None,
    offline: bool,
    quiet: bool,
) -> Sources:
    from .pipeline import resolve_sources

    return resolve_sources(
        dataset,
        sprite,
        labels,
        cache_dir=cache_dir,
        offline=offline,
        show_progress=progress.wanted(quiet),
    )


def _path_or_dataset(
    path: Path | None, dataset: str | None, cache_dir: Path | None, what: str, example: str
) -> Path:
    """``what`` (a path argument), or the cached files of ``--dataset`` (never fetched): one of
    the two. ``example``: the dataset a usage error suggests."""
    if (path is None) == (dataset is None):
        raise OptionError(
            None,
            f"{what} and --dataset both given" if path else f"give {what} or --dataset",
            f"give one: a file or folder, or --dataset {example}",
        )
    if path is not None:
        return path
    ds = ALL[str(dataset)]
    files = datasets.cached_files(ds, cache_dir)  # every file, named when one is missing
    return ds.folder(cache_dir) if isinstance(ds, Originals) else files["sprite"]


def _originals_reader(dataset: str | None, cache_dir: Path | None) -> Reader | None:
    """For ``--dataset`` of original files: exactly the cached files fetch verified."""
    ds = datasets.ORIGINALS.get(dataset or "")
    if ds is None:
        return None
    from .originals import OriginalsReader

    return OriginalsReader(ds, ds.folder(cache_dir))


def _print_json(data: Any) -> None:
    import json  # here: start-up time counts in pipelines

    click.echo(json.dumps(data, indent=2, sort_keys=True))


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mnist-sprite")
def cli() -> None:
    """Turn TensorFlow.js's dataset sprites into NumPy arrays, and back.

    \b
      mnist-sprite fetch                      # download and verify the two files
      mnist-sprite convert --out mnist.npz    # x_train, y_train, x_test, y_test
      mnist-sprite inspect mnist.npz          # what is in a file
      mnist-sprite verify mnist.npz           # prove sources and output are right
      mnist-sprite pack mnist.npz --out web   # your images as a sprite for the browser
    """


@cli.command("convert")
@source_options
@cache_dir_option
@click.option("--out", "-o", required=True, help=HELP["out"])
@choice("--format", FORMATS, FORMATS[0], HELP["format"], "fmt")
@choice(
    "--layout",
    LAYOUTS,
    LAYOUTS[0],
    "With --format {laid_out}: torchvision puts the files in DIR/MNIST/raw/ "
    "(DIR/FashionMNIST/raw/ for fashion-mnist).",
)
@conversion_options()
@click.option(
    "--compress",
    is_flag=True,
    help=HELP["compress"],
)
@click.option(
    "--shard-rows",
    "out_shard_rows",
    type=int,
    metavar="N",
    help=HELP["shard_rows"],
)
@click.option("--force", "-f", is_flag=True, help="Replace an existing output.")
@quiet_option
@json_option
def convert_command(
    sprite: Path | None,
    labels: Path | None,
    dataset: str | None,
    offline: bool,
    cache_dir: Path | None,
    out: str,
    fmt: str,
    layout: str,
    compress: bool,
    out_shard_rows: int | None,
    force: bool,
    quiet: bool,
    as_json: bool,
    **conversion: Any,
) -> None:
    """Convert the sprite and labels into train/test arrays.

    Pixels are the red channel divided by 255 into float32, bit for bit as TensorFlow.js's
    loader; labels are one-hot rows. The first 55,000 digits train, the last 10,000 test.

    \b
      mnist-sprite convert --out mnist.npz
      mnist-sprite convert --dataset sample --out sample.npz
      mnist-sprite convert --sprite s.png --labels l_uint8 --train-size 900 --out my.npz
      mnist-sprite convert --format npy --out mnist_npy/ --shape image --dtype uint8
      mnist-sprite convert --format idx --layout torchvision --out data/
      mnist-sprite convert --out - --quiet | python -c 'import numpy,sys,io; ...'
    """
    from .pipeline import check_out, write_output

    if as_json and out == "-":
        raise OptionError(None, "--json and --out - both want stdout", "drop one of them")
    if out == "-" and _STDOUT_CLOSED:
        raise OutputError(
            "-", "standard output is closed", "give --out FILE, or run it with stdout open"
        )
    # What was given; the rest is the format's default (registry's rules), else Options'.
    options = Options.given(fmt, **{k: v if _given(k) else None for k, v in conversion.items()})
    # Before any download: a wrong --out wastes nothing.
    check_out(out, fmt, compress, layout, out_shard_rows)
    sources = _sources(dataset, sprite, labels, cache_dir, offline, quiet)
    result = write_output(
        sources,
        out,
        options=options,
        fmt=fmt,
        compress=compress,
        layout=layout,
        force=force,
        shard_rows=out_shard_rows,
        progress=lambda total: progress.bar(
            total, "decoding", "rows", enabled=progress.wanted(quiet)
        ),
    )
    for warning in result.warnings:  # always shown: it is about the numbers, not progress
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        from .files import tree_sha256

        summary = result.summary()
        summary["sha256"] = tree_sha256(Path(out))  # a file format's file, or every file
        _print_json(summary)
    elif not quiet:
        arrays = ", ".join(
            f"{name} {tuple(a['shape'])} {a['dtype']}" for name, a in result.arrays.items()
        )
        target = "stdout" if out == "-" else out
        click.echo(f"wrote {target}: {arrays} in {result.seconds:.2f} s", err=True)


@cli.command("fetch")
@choice(
    "--dataset",
    sorted(ALL),
    datasets.DEFAULT,
    "Which dataset to fetch (the sample is bundled and needs no fetching).",
)
@cache_dir_option
@click.option("--url", metavar="URL", help="Download the sprite from this URL only.")
@click.option("--labels-url", metavar="URL", help="Download the label file from this URL only.")
@click.option(
    "--mirror",
    "mirrors",
    multiple=True,
    metavar="PREFIX",
    help="A base URL to try before the official one (repeatable; also $MNIST_SPRITE_MIRRORS).",
)
@click.option("--offline", is_flag=True, help="No network: succeed only from a complete cache.")
@click.option(
    "--from",
    "from_path",
    type=PATH,
    metavar="PATH",
    help="Import files copied by hand (a folder, or a file), verified like a download.",
)
@click.option("--force", "-f", is_flag=True, help="Download again even if the cache is complete.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="S",
    help="Seconds to wait for a connection or for data before retrying.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=DEFAULT_RETRIES,
    show_default=True,
    metavar="N",
    help="Retries per source after a connection error, a timeout or a 5xx (never after a 4xx).",
)
@quiet_option
@json_option
def fetch_command(
    dataset: str,
    cache_dir: Path | None,
    url: str | None,
    labels_url: str | None,
    mirrors: tuple[str, ...],
    offline: bool,
    from_path: Path | None,
    force: bool,
    timeout: float,
    retries: int,
    quiet: bool,
    as_json: bool,
) -> None:
    """Download a dataset's files into the cache, verified: a sprite and its label file, or
    the original IDX files (mnist-original, fashion-mnist-original).

    Prints the cached paths, one per line. A complete cache downloads nothing; an interrupted
    download resumes; a wrong file (an HTML page, a bad digest) never enters the cache.

    \b
      mnist-sprite fetch
      mnist-sprite fetch --mirror https://example.org/mnist/ --timeout 10
      mnist-sprite fetch --offline            # in CI: fail unless the cache is complete
      mnist-sprite fetch --from /media/usb/   # an air-gapped machine
      sprite=$(mnist-sprite fetch --quiet | head -n 1)
    """
    from .download import fetch_dataset

    result = fetch_dataset(
        ALL[dataset],
        cache_dir=cache_dir,
        sprite_url=url,
        labels_url=labels_url,
        mirrors=mirrors,
        offline=offline,
        from_path=from_path,
        force=force,
        timeout=timeout,
        retries=retries,
        show_progress=progress.wanted(quiet),
    )
    if result.recorded and not quiet:  # once: the first fetch of a dataset with no pinned digest
        click.echo(result.note(), err=True)
    if as_json:
        _print_json(result.summary())
        return
    # One write: a reader that stops after the first line (head -n 1) still gets a whole write.
    click.echo("\n".join(dict.fromkeys(str(path) for path in result.paths.values())))
    if not quiet:
        click.echo(result.describe(), err=True)


@cli.command("inspect")
@click.argument("path", type=PATH, required=False)
@click.option(
    "--dataset",
    type=click.Choice(sorted(ALL)),
    help="Inspect a known dataset's files in the cache instead of PATH (never fetched): "
    "its sprite, or the folder of its IDX files.",
)
@cache_dir_option
@click.option("--show", type=click.IntRange(min=0), metavar="I", help="Draw digit I as text.")
@click.option(
    "--grid",
    type=PATH,
    metavar="OUT.png",
    help="Write a contact sheet of the first digits as a PNG.",
)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    metavar="K",
    help="Digits on the --grid contact sheet.",
)
@conversion_options("image_size")
@click.option(
    "--train-size",
    type=click.IntRange(min=0),
    metavar="N",
    help="Split for a label file's class counts [default: 55000 of 65000, 800 of 1000].",
)
@click.option("--force", "-f", is_flag=True, help="Replace an existing --grid file.")
@json_option
@formats_named
def inspect_command(
    path: Path | None,
    dataset: str | None,
    cache_dir: Path | None,
    show: int | None,
    grid: Path | None,
    count: int,
    image_size: str | None,
    train_size: int | None,
    force: bool,
    as_json: bool,
) -> None:
    """Show what is in a sprite, a label file, an output or a packed NAME.json.

    The kind is recognized by content. A sprite: size, format, chunks, row filters, pixel
    digest and which known dataset it is. A label file: class counts, rows that are not
    one-hot. An output of convert ({outputs}): each
    array's shape, dtype, range, mean, digest, and how it was made. A packed NAME.json: its
    facts, and whether its files are the ones packed.

    \b
      mnist-sprite inspect ~/.cache/mnist-sprite/mnist/mnist_images.png
      mnist-sprite inspect mnist.npz --json | jq .arrays.x_train.shape
      mnist-sprite inspect mnist.npz --show 7
      mnist-sprite inspect mnist_images.png --grid digits.png --count 400
      mnist-sprite inspect --dataset mnist-original
    """
    from . import inspection

    path = _path_or_dataset(path, dataset, cache_dir, "PATH", datasets.DEFAULT)
    if grid is None and _given("count"):
        raise OptionError(None, "--count sets the size of a --grid contact sheet", "add --grid")
    if grid is None and force:
        raise OptionError(None, "--force replaces an existing --grid file", "add --grid")
    if show is not None and grid is not None:
        raise OptionError(None, "--show and --grid both given", "give one of them")
    size = parse_image_size(image_size) if image_size else None
    if show is not None:
        images, labels = inspection.digits(path, show, 1, size)
        if as_json:
            _print_json(inspection.digit_facts(images[0], labels[0], show))
        else:
            click.echo(inspection.draw(images[0], labels[0], show))
        return
    if grid is not None:
        facts = inspection.write_grid(path, grid, count=count, image_size=size, force=force)
        if as_json:
            _print_json(facts)
        else:
            click.echo(f"wrote {grid}: {facts['digits']} digits", err=True)
        return
    originals = _originals_reader(dataset, cache_dir)
    report = (
        inspection.inspect_output(path, originals)
        if originals is not None
        else inspection.inspect(path, image_size=size, train_size=train_size)
    )
    if as_json:
        _print_json(report)
    else:
        click.echo(inspection.render(report))
    if report.get("problems"):  # the facts are shown; the exit code still tells it is damaged
        fix = report.get("fix", "re-download it")
        click.echo(f"error: {path}: {'; '.join(report['problems'])}; {fix}", err=True)
        raise click.exceptions.Exit(1)


@cli.command("verify")
@click.argument("output", required=False, type=PATH)
@click.option("--sprite", type=PATH, metavar="PNG", help="The sprite PNG to check.")
@click.option("--labels", type=PATH, metavar="FILE", help="The label file to check.")
@click.option(
    "--dataset",
    type=click.Choice(sorted(ALL)),
    help=f"Check a known dataset's files as they are (never fetched): {_dataset_names()}.",
)
@cache_dir_option
@conversion_options("image_size", "train_size", "split")
@click.option(
    "--source",
    type=PATH,
    help="With a packed NAME.json: the input it was packed from; convert must give its "
    "arrays back.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print only the checks that fail (on stderr); the exit code says the rest.",
)
@json_option
@formats_named
def verify_command(
    output: Path | None,
    sprite: Path | None,
    labels: Path | None,
    dataset: str | None,
    cache_dir: Path | None,
    image_size: str | None,
    train_size: int | None,
    split: str | None,
    source: Path | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Prove that sources, and an output made from them, are intact and correct.

    OUTPUT is an {files} file, an {folders} folder, or a packed NAME.json. Its
    sources come from its provenance: the dataset it records, else the known dataset its
    recorded digests are, else the files at its recorded paths if they still have those
    digests; otherwise give --sprite and --labels.

    Checks that the sprite decodes completely; that the files belong to the dataset any of them
    identifies by a pinned digest (or says none is pinned); that the labels are one-hot with
    the published class counts; that convert would accept them (image size, label count,
    split); and that every array of OUTPUT equals what convert writes from these sources with
    the options recorded in it. Exit 0 when everything holds, 1 when anything does not.

    \b
      mnist-sprite verify                      # the cached MNIST files
      mnist-sprite verify mnist.npz            # and an output made from them
      mnist-sprite verify out/ --sprite s.png --labels l_uint8 --json
      mnist-sprite verify web/mnist.json --source mnist.npz   # a packed sprite
    """
    from .identify import identify
    from .verify import verify, verify_packed

    packed = output is not None and identify(output, ("packed",)) is not None
    if source is not None and not packed:
        raise OptionError(None, "--source goes with a packed NAME.json", "give the NAME.json")
    report = (
        verify_packed(output, source)
        if packed and output
        else verify(
            output,
            sprite=sprite,
            labels=labels,
            dataset=dataset,
            cache_dir=cache_dir,
            image_size=parse_image_size(image_size) if image_size else None,
            train_size=train_size,
            split=split,
        )
    )
    if as_json:
        _print_json(report.to_dict())
    elif quiet:
        if not report.ok:
            click.echo(report.render(failed_only=True), err=True)
    else:
        click.echo(report.render())
    if not report.ok:
        raise click.exceptions.Exit(1)


@cli.command("pack")
@click.argument("source", type=PATH, required=False)
@click.option(
    "--dataset",
    type=click.Choice(sorted(datasets.ORIGINALS)),
    help="Pack a dataset's original IDX files from the cache instead of SOURCE (fetched if "
    "missing): the published 60,000 / 10,000.",
)
@cache_dir_option
@click.option("--out", "-o", required=True, type=PATH, help="The folder to write into.")
@click.option(
    "--name",
    default="data",
    show_default=True,
    help="The files' stem: NAME_images.png, NAME_labels_uint8, NAME.json.",
)
@click.option(
    "--classes",
    type=click.IntRange(min=1, max=255),
    metavar="C",
    help="Number of classes (bytes per label row) [default: from the data].",
)
@click.option(
    "--image-size",
    metavar="HxW",
    help="The size of one image of flat rows (N, H*W) that record none [default: what "
    "convert recorded, else square]; images (N, H, W) carry their own.",
)
@click.option(
    "--quantize",
    is_flag=True,
    help="Round float pixels to the nearest k/255 (and say how many changed) instead of "
    "refusing values that are not exactly k/255.",
)
@click.option(
    "--level",
    type=click.IntRange(0, 9),
    default=6,
    show_default=True,
    help="zlib level of the PNG.",
)
@pack_source_options
@click.option(
    "--force",
    "-f",
    is_flag=True,
    help="Replace the files an earlier pack wrote: NAME.json and the files it lists (every "
    "shard, its label file, NAME.js), never a file of yours.",
)
@quiet_option
@json_option
@formats_named
def pack_command(
    source: Path | None,
    dataset: str | None,
    cache_dir: Path | None,
    out: Path,
    name: str,
    classes: int | None,
    image_size: str | None,
    quantize: bool,
    level: int,
    force: bool,
    quiet: bool,
    as_json: bool,
    **reading: Any,
) -> None:
    """Pack your own images into a TensorFlow.js sprite that data.js loads exactly.

    SOURCE is recognized by content: an .npz (keras' mnist.npz layout, or any convert
    output), an {pack_folders} output folder, PNG folders (root/<class>/*.png, or
    root/train/<class>/... and root/test/<class>/...), or a folder of one array per class
    (cat.npy, dog.npy, ...: Quick, Draw!'s numpy_bitmap). A Hugging Face Parquet file (a Hub
    download, or one Dataset.to_parquet() wrote) is its train split. Training images come
    first. Writes NAME.json and NAME.js (a browser loader) beside the sprite, or its shards.

    \b
      mnist-sprite pack mnist.npz --out web/ --name mnist
      mnist-sprite pack my_pngs/ --out web/ --name flowers
      mnist-sprite pack train-00000-of-00001.parquet --out web/ --name hub
      mnist-sprite pack floats.npz --out web/ --quantize
      mnist-sprite pack quickdraw/ --out web/ --name doodles --test-size 0.1 --seed 0
      mnist-sprite pack --dataset mnist-original --out web/ --name mnist
    """
    from .packing import pack

    if dataset is None or source is not None:
        source = _path_or_dataset(source, dataset, cache_dir, "SOURCE", "mnist-original")
    else:  # fetched when missing, as convert fetches it
        source = _sources(dataset, None, None, cache_dir, False, quiet).sprite
    with progress.bar(None, "packing", "rows", enabled=progress.wanted(quiet)) as advance:
        result = pack(
            source,
            out,
            reader=_originals_reader(dataset, cache_dir),
            name=name,
            classes=classes,
            image_size=image_size,
            quantize=quantize,
            level=level,
            force=force,
            progress=advance,
            **reading,
        )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        _print_json(result.summary())
    elif not quiet:
        facts = result.facts
        size = f"{facts['image_height']}x{facts['image_width']}x{facts['channels']}"
        moved = f"; --quantize moved {result.changed:,} values" if quantize else ""
        shards = facts["shards"]
        test = facts["images"] - facts["train_images"]
        rule = ""
        if facts["provenance"]["options"].get("test_size") == "default":
            percent = (Decimal(DEFAULT_TEST_SIZE) * 100).normalize()
            rule = f": the default, {percent}% of each class"
        where = result.files["images"] if len(shards) == 1 else f"{len(shards)} shards"
        png_bytes = sum(s["images"]["bytes"] for s in shards)
        click.echo(
            f"wrote {where}: {facts['images']:,} images of {size} "
            f"({facts['train_images']:,} train, {test:,} test{rule}), {facts['classes']} classes, "
            f"{png_bytes:,} bytes in {result.seconds:.2f} s{moved}; load it with "
            f"{result.files['js'].name}",
            err=True,
        )


def main() -> NoReturn:
    """Entry point of the ``mnist-sprite`` console script and ``python -m mnist_sprite``."""
    cli.main(prog_name="mnist-sprite")
