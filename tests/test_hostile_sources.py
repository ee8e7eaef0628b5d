"""Hostile sources for pack, inspect and verify: every one is refused in one ``error:`` line,
exit 1, within a timeout and a memory limit, reading nothing outside the source.

Made here from small arrays: FIFOs where files should be (a reader that opens one would hang:
each command runs in a subprocess with a timeout), headers that declare more than the file
holds (each command runs under an address-space limit a little above the interpreter's
own), names and links that lead out of the source to a sentinel folder (whose files must stay
unread: no output is written from them), and folders with entries pack would have skipped.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.lib.format as npformat
import png
import pytest
from click.testing import CliRunner

from mnist_sprite.cli import cli
from mnist_sprite.registry import TABLE
from tests import pngkit
from tests.cli_kit import packed

TIMEOUT = 60  # far above what any case takes; a hang is what it catches
HEADROOM_MB = 300
SIDE = 4
RNG = np.random.default_rng(18)
X = RNG.integers(0, 256, (6, SIDE, SIDE), dtype=np.uint8)
Y = np.array([0, 1, 2, 0, 1, 2], np.uint8)
SENTINEL_VALUE = 0xAB  # every pixel outside the source: must never reach an output


def _vm_peak_mb() -> int:
    """The address space the CLI's interpreter takes before it reads anything."""
    code = (
        "import mnist_sprite.cli, mnist_sprite.packing, mnist_sprite.inspection, png;"
        "print([l for l in open('/proc/self/status') if l.startswith('VmPeak')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    return int(out.stdout) // 1024


BASELINE_MB = _vm_peak_mb() if Path("/proc/self/status").exists() else None


def _limit() -> None:
    assert BASELINE_MB is not None
    limit = (BASELINE_MB + HEADROOM_MB) << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run(*args: str, bounded: bool = False, hangs: bool = False) -> tuple[int, str, str]:
    """The CLI: in this process, or (``hangs``: a case that hangs when a reader regresses)
    in a subprocess killed after TIMEOUT, or (``bounded``) a subprocess under an
    address-space limit of the interpreter's own plus HEADROOM_MB."""
    if not (bounded or hangs):
        result = CliRunner().invoke(cli, list(args))
        return result.exit_code, result.stdout, result.stderr
    if bounded and BASELINE_MB is None:
        pytest.skip("no /proc/self/status to measure the interpreter's address space")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mnist_sprite", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        preexec_fn=_limit if bounded else None,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def one_error(result: tuple[int, str, str], *expected: str, code: int = 1) -> str:
    rc, _, stderr = result
    lines = stderr.splitlines()
    assert rc == code, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def refused(command: str, result: tuple[int, str, str], *expected: str) -> None:
    """inspect and pack refuse in one error line; verify may instead fail a check (exit 1,
    its report on stdout) naming the same problem."""
    rc, stdout, stderr = result
    if command != "verify" or stderr:
        one_error(result, *expected)
        return
    assert rc == 1 and "Traceback" not in stderr and "internal error" not in stdout, stdout
    fails = [line for line in stdout.splitlines() if line.startswith("FAIL")]
    assert any(all(text in line for text in expected) for line in fails), stdout


def npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def idx_file(path: Path, dims: tuple[int, ...], data: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes((0, 0, 8, len(dims))) + struct.pack(f">{len(dims)}I", *dims) + data)


def idx_folder(folder: Path, images: tuple[int, ...] = (6, SIDE, SIDE)) -> Path:
    data = bytes(int(np.prod(images))) if len(images) == 3 and images[0] < 100 else b""
    idx_file(folder / "train-images-idx3-ubyte", images, data)
    idx_file(folder / "train-labels-idx1-ubyte", (6,), bytes(Y))
    idx_file(folder / "t10k-images-idx3-ubyte", (2, SIDE, SIDE), bytes(2 * SIDE * SIDE))
    idx_file(folder / "t10k-labels-idx1-ubyte", (2,), bytes(Y[:2]))
    return folder


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        png.Writer(image.shape[1], image.shape[0], greyscale=True).write(f, image.tolist())


def png_folder(root: Path, x: np.ndarray = X, y: np.ndarray = Y) -> Path:
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        write_png(root / "train" / str(label) / f"{i}.png", image)
    write_png(root / "test" / "0" / "0.png", x[0])
    return root


def huge_png(path: Path, side: int) -> None:
    """A ``side`` x ``side`` gray PNG of zeros, compressed a row at a time (a few kB)."""
    z = zlib.compressobj(9)
    row = bytes(side + 1)
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        pngkit.SIGNATURE
        + pngkit.ihdr(side, side)
        + pngkit.chunk(b"IDAT", body)
        + pngkit.chunk(b"IEND", b"")
    )


def digest_tree(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


# -- FIFOs: refused by stat, never opened (an open would block for ever) ------------------


def _fifo_npz(tmp: Path) -> Path:
    os.mkfifo(tmp / "src.npz")
    return tmp / "src.npz"


def _fifo_npy_member(tmp: Path) -> Path:
    folder = tmp / "npy"
    folder.mkdir()
    np.save(folder / "x_train.npy", X)
    os.mkfifo(folder / "y_train.npy")
    return folder


def _fifo_in_idx_manifest(tmp: Path) -> Path:
    folder = idx_folder(tmp / "idx")
    (folder / "train-images-idx3-ubyte").unlink()
    os.mkfifo(folder / "train-images-idx3-ubyte")
    files = sorted(p.name for p in folder.iterdir())
    manifest = {"tool": "mnist-sprite", "format": "idx", "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _fifo_png(tmp: Path) -> Path:
    root = png_folder(tmp / "pngs")
    os.mkfifo(root / "train" / "1" / "x.png")
    return root


def _fifo_manifest(tmp: Path) -> Path:
    folder = tmp / "npy"
    folder.mkdir()
    np.save(folder / "x_train.npy", X)
    np.save(folder / "y_train.npy", Y)
    os.mkfifo(folder / "manifest.json")
    return folder


FIFOS: dict[str, Callable[[Path], Path]] = {
    "src.npz": _fifo_npz,
    "npy member": _fifo_npy_member,
    "named by an IDX manifest": _fifo_in_idx_manifest,
    "x.png in a class folder": _fifo_png,
}


@pytest.mark.parametrize("command", ["inspect", "pack", "verify"])
@pytest.mark.parametrize("case", sorted(FIFOS))
def test_a_fifo_is_refused_not_opened(tmp_path: Path, case: str, command: str) -> None:
    source = FIFOS[case](tmp_path)
    args = {
        "inspect": ["inspect", str(source)],
        "pack": ["pack", str(source), "--out", str(tmp_path / "out")],
        "verify": ["verify", str(source), "--dataset", "sample"],
    }[command]
    refused(command, run(*args, hangs=True), "is not a regular file")
    assert not (tmp_path / "out").exists()


def test_a_fifo_manifest_is_not_opened(tmp_path: Path) -> None:
    source = _fifo_manifest(tmp_path)
    rc, stdout, stderr = run("inspect", str(source), "--json", hangs=True)
    assert rc == 0 and json.loads(stdout)["provenance"] is None, stderr


# -- headers that declare more than is there: refused before anything is allocated ----------


def _npy_header(shape: tuple[int, ...], descr: str = "|u1") -> bytes:
    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _npz_of_headers(path: Path, shape: tuple[int, ...]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x_train.npy", _npy_header(shape))
        z.writestr("y_train.npy", _npy_header((shape[0],)))
    return path


BOMBS: dict[str, tuple[Callable[[Path], Path], str]] = {
    # (2^32 - 1) * 641 * 6700417 = 2^64 - 1: int64 made it -1, and read(-1) read everything.
    "IDX dims whose product overflows int64": (
        lambda t: idx_folder(t / "idx", (2**32 - 1, 641, 6700417)),
        "declares 18,446,744,073,709,551,615 bytes",
    ),
    # 2^22 * 2^21 * 2^21 = 2^64: int64 made it 0, and inspect printed the digest of nothing.
    "IDX dims whose product wraps to zero": (
        lambda t: idx_folder(t / "idx", (4194304, 2097152, 2097152)),
        "declares 18,446,744,073,709,551,616 bytes",
    ),
    "IDX header larger than its file": (
        lambda t: idx_folder(t / "idx", (600, 100, 100)),
        "(600, 100, 100) declares 6,000,000 bytes but the file can hold at most 0",
    ),
    "npz shape (2, 2^40, 2^40)": (
        lambda t: _npz_of_headers(t / "h.npz", (2, 2**40, 2**40)),
        "x_train of shape (2, 1099511627776, 1099511627776) declares",
    ),
    "npz member declaring more than it stores": (
        lambda t: _npz_of_headers(t / "h.npz", (1000, 28, 28)),
        "x_train is truncated: its header declares 784,000 bytes of values ((1000, 28, 28) uint8)",
    ),
    "a 10000x10000 PNG as the first image of a class folder": (
        lambda t: _png_folder_with_huge(t, "0", "-.png"),  # sorts first
        "16,777,216",  # the most pixels an image may declare
    ),
    "a 10000x10000 PNG among 4x4 images": (
        lambda t: _png_folder_with_huge(t, "1", "9.png"),
        "10000",  # named by size: where the first image is 4x4, or past the most pixels
    ),
}


def _png_folder_with_huge(tmp: Path, folder: str, name: str) -> Path:
    root = png_folder(tmp / "pngs")
    huge_png(root / "train" / folder / name, 10_000)
    return root


@pytest.mark.parametrize("command", ["inspect", "pack"])
@pytest.mark.parametrize("case", sorted(BOMBS))
def test_impossible_sizes_are_refused_in_bounded_memory(
    tmp_path: Path, case: str, command: str
) -> None:
    make, message = BOMBS[case]
    source = make(tmp_path)
    out = tmp_path / "out"
    args = (
        ["inspect", str(source)]
        if command == "inspect"
        else ["pack", str(source), "--out", str(out)]
    )
    one_error(run(*args, bounded=True), message)
    assert not out.exists()


def test_a_deflate_bomb_member_is_refused_from_its_sizes(tmp_path: Path) -> None:
    """A member that declares more than deflate can make of its stored bytes."""
    path = npz(tmp_path / "b.npz", x_train=X, y_train=Y)
    data = bytearray(path.read_bytes())
    z = zipfile.ZipFile(path)
    info = z.getinfo("x_train.npy")
    z.close()
    # Patch the declared size (central directory) to far more than 1032 x the stored bytes.
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_len] == b"x_train.npy":
            data[at + 24 : at + 28] = (info.compress_size * 5000).to_bytes(4, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    one_error(run("inspect", str(path), bounded=True), "x_train declares", "can hold at most")


# -- names and links that lead out of the source: refused, the outside never read ----------


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    """A folder beside the source holding images and IDX files of SENTINEL_VALUE pixels."""
    folder = tmp_path / "elsewhere"
    image = np.full((SIDE, SIDE), SENTINEL_VALUE, np.uint8)
    for i in range(3):
        write_png(folder / "7" / f"{i}.png", image)
    idx_file(folder / "train-images-idx3-ubyte", (6, SIDE, SIDE), bytes([SENTINEL_VALUE]) * 96)
    np.save(folder / "x_train.npy", np.full((6, SIDE, SIDE), SENTINEL_VALUE, np.uint8))
    (folder / "secret").write_bytes(b"not yours")
    return folder


def _escape_idx_manifest(tmp: Path, elsewhere: Path) -> Path:
    folder = idx_folder(tmp / "src" / "idx")
    files = [
        f"../../{elsewhere.name}/train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    manifest = {"tool": "mnist-sprite", "format": "idx", "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _escape_classes_json(folders: list[str]) -> Callable[[Path, Path], Path]:
    def make(tmp: Path, elsewhere: Path) -> Path:
        root = png_folder(tmp / "src" / "pngs")
        listed = {"classes": [str(i) for i in range(len(folders))], "folders": folders}
        (root / "classes.json").write_text(json.dumps(listed))
        return root

    return make


def _escape_linked_class_folder(tmp: Path, elsewhere: Path) -> Path:
    root = png_folder(tmp / "src" / "pngs")
    (root / "train" / "7").symlink_to(elsewhere / "7")
    return root


def _escape_linked_npy(tmp: Path, elsewhere: Path) -> Path:
    folder = tmp / "src" / "npy"
    folder.mkdir(parents=True)
    np.save(folder / "y_train.npy", Y)
    (folder / "x_train.npy").symlink_to(elsewhere / "x_train.npy")
    return folder


def _escape_linked_idx(tmp: Path, elsewhere: Path) -> Path:
    folder = idx_folder(tmp / "src" / "idx")
    (folder / "train-images-idx3-ubyte").unlink()
    (folder / "train-images-idx3-ubyte").symlink_to(elsewhere / "train-images-idx3-ubyte")
    return folder


ESCAPES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "IDX manifest naming ../../elsewhere": (_escape_idx_manifest, "is not a path inside"),
    "classes.json folder ..": (_escape_classes_json(["0", "1", ".."]), "is not a folder name"),
    "classes.json folder ../../elsewhere/7": (
        _escape_classes_json(["0", "1", "../../elsewhere/7"]),
        "is not a folder name",
    ),
    "class folder linked outside": (_escape_linked_class_folder, "leads outside"),
    "npy member linked outside": (_escape_linked_npy, "leads outside"),
    "IDX file linked outside": (_escape_linked_idx, "leads outside"),
}


@pytest.mark.parametrize("command", ["inspect", "pack", "verify"])
@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_a_path_out_of_the_source_is_refused(
    tmp_path: Path, sentinel: Path, case: str, command: str
) -> None:
    make, message = ESCAPES[case]
    source = make(tmp_path, sentinel)
    before = digest_tree(sentinel)
    out = tmp_path / "out"
    args = {
        "inspect": ["inspect", str(source), "--json"],
        "pack": ["pack", str(source), "--out", str(out)],
        "verify": ["verify", str(source), "--dataset", "sample"],
    }[command]
    refused(command, run(*args), message)
    assert not out.exists()  # nothing was written from what is outside
    assert digest_tree(sentinel) == before


def test_pack_does_not_hash_a_link_out_of_its_source_folder(tmp_path: Path, sentinel: Path) -> None:
    folder = tmp_path / "src" / "npy"
    folder.mkdir(parents=True)
    np.save(folder / "x_train.npy", X)
    np.save(folder / "y_train.npy", Y)
    (folder / "notes").symlink_to(sentinel / "secret")  # read by nothing but the digest
    out = tmp_path / "out"
    one_error(run("pack", str(folder), "--out", str(out)), "notes: leads outside")
    assert not out.exists()


def test_packed_json_naming_a_file_outside_is_not_hashed(tmp_path: Path, sentinel: Path) -> None:
    source = npz(tmp_path / "in.npz", x_train=X, y_train=Y)
    rc, _, stderr = run("pack", str(source), "--out", str(tmp_path / "p"), "-q")
    assert rc == 0, stderr
    packed = tmp_path / "p" / "data.json"
    facts = json.loads(packed.read_text())
    facts["files"]["labels"]["name"] = "../elsewhere/secret"
    facts["files"]["labels"]["sha256"] = hashlib.sha256(b"not yours").hexdigest()
    packed.write_text(json.dumps(facts))
    for command in ("inspect", "verify"):
        one_error(run(command, str(packed)), 'its "files.labels.name" is "../elsewhere/secret"')


@pytest.mark.parametrize(
    ("field", "value"),
    [("images", "900"), ("classes", None), ("class_names", 3), ("files", []), ("channels", True)],
)
def test_packed_json_of_wrong_types_is_one_line(tmp_path: Path, field: str, value: object) -> None:
    source = npz(tmp_path / "in.npz", x_train=X, y_train=Y)
    assert run("pack", str(source), "--out", str(tmp_path / "p"), "-q")[0] == 0
    packed = tmp_path / "p" / "data.json"
    facts = json.loads(packed.read_text())
    facts[field] = value
    packed.write_text(json.dumps(facts))
    one_error(run("inspect", str(packed)), f'its "{field}" is {json.dumps(value)}')


# -- nothing skipped in silence: every entry of a PNG folder is packed or named ---------------


def _with(change: Callable[[Path], object]) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        root = png_folder(tmp / "pngs")
        change(root)
        return root

    return make


def _classes(root: Path, folders: list[str]) -> None:
    listed = {"classes": [f"c{f}" for f in folders], "folders": folders}
    (root / "classes.json").write_text(json.dumps(listed))


SKIPPED: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "a JPEG in a class folder": (
        _with(lambda r: (r / "train" / "1" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")),
        "train/1/photo.jpg",
        "photo.jpg: ",  # convert reads PNG only; pack refuses a JPEG that does not decode
    ),
    "a folder inside a class folder": (
        _with(lambda r: write_png(r / "train" / "2" / "more" / "img9.png", X[0])),
        "train/2/more",
        "is a folder inside a class folder",
    ),
    "a stray folder beside train/": (
        _with(lambda r: (r / "extra").mkdir()),
        "pngs/extra",
        "is not a split folder",
    ),
    "a stray file in a split": (
        _with(lambda r: (r / "train" / "notes.txt").write_text("hi")),
        "train/notes.txt",
        "is not a class folder",
    ),
    "a class folder classes.json does not list": (
        _with(
            lambda r: (_classes(r, ["0", "1", "2"]), write_png(r / "train" / "10" / "7.png", X[0]))
        ),
        "train/10",
        "is a folder that classes.json does not list",
    ),
    "classes.json naming folder 0 twice": (
        _with(lambda r: _classes(r, ["0", "0", "2"])),
        "classes.json",
        "lists folder '0' twice",
    ),
    "300 class folders": (
        _with(lambda r: [(r / "train" / f"c{i:03d}").mkdir() for i in range(300)]),
        "pngs",
        "class folders; a label row holds at most 255 classes",
    ),
}


@pytest.mark.parametrize("command", ["inspect", "pack"])
@pytest.mark.parametrize("case", sorted(SKIPPED))
def test_every_entry_of_a_png_folder_is_read_or_named(
    tmp_path: Path, case: str, command: str
) -> None:
    make, named, message = SKIPPED[case]
    root = make(tmp_path)
    out = tmp_path / "out"
    args = (
        ["inspect", str(root)] if command == "inspect" else ["pack", str(root), "--out", str(out)]
    )
    line = one_error(run(*args), message)
    assert named in line
    assert not out.exists()


def test_100000_empty_class_folders_are_refused_cleanly(tmp_path: Path) -> None:
    root = png_folder(tmp_path / "pngs")
    for i in range(100_000):
        (root / "train" / f"e{i}").mkdir()
    for args in (["inspect", str(root)], ["pack", str(root), "--out", str(tmp_path / "out")]):
        one_error(run(*args), f"{root}: holds", "or more class folders")
    assert not (tmp_path / "out").exists()


def test_a_class_folder_named_by_a_superscript_is_a_name_not_a_number(tmp_path: Path) -> None:
    root = png_folder(tmp_path / "pngs")
    write_png(root / "train" / "²" / "9.png", X[1])
    rc, stdout, stderr = run("inspect", str(root), "--json")
    assert rc == 0, stderr
    assert json.loads(stdout)["classes"][:4] == ["0", "1", "2", "3"] or stdout


def test_png_folder_reads_exactly_its_images_and_class_ids(tmp_path: Path) -> None:
    from mnist_sprite.reading import Output

    root = png_folder(tmp_path / "pngs")
    with Output(root) as out:
        assert out.names() == ["x_train", "y_train", "x_test", "y_test"]
        x = out.rows("x_train", 0, 6)
        y = out.rows("y_train", 0, 6)
    order = sorted(range(6), key=lambda i: (len(str(i)), str(i)))
    assert np.array_equal(x, X[order]) and np.array_equal(y, Y[order])


@pytest.mark.parametrize("fmt", ["npy", "idx", "png-dir"])
@pytest.mark.parametrize("extra", ["file", "folder"])
def test_verify_of_a_folder_output_fails_on_what_its_manifest_does_not_list(
    tmp_path: Path, fmt: str, extra: str
) -> None:
    out = tmp_path / "o"
    rc, _, stderr = run("convert", "--dataset", "sample", "--format", fmt, "--out", str(out), "-q")
    assert rc == 0, stderr
    assert run("verify", str(out), "--dataset", "sample")[0] == 0
    if extra == "file":
        (out / "notes.txt").write_text("added by hand")
    else:
        (out / "added").mkdir()
    rc, stdout, stderr = run("verify", str(out), "--dataset", "sample")
    assert rc == 1
    assert "not in its manifest" in stdout + stderr or "is not a split folder" in stderr


# -- manifests, dtypes and zips a reader cannot take: one line, never an internal error -------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("arrays", "x", 'its "arrays" is "x"'),
        ("arrays", 5, 'its "arrays" is 5'),
        ("files", ["../../x"], "is not a path inside its folder"),
        ("options.image_size", "2x", 'its "image_size" "2x" is not HxW'),
        ("options", "fast", 'its "options" is "fast"'),
    ],
)
def test_a_manifest_of_wrong_types_is_one_line(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    out = tmp_path / "o"
    assert run("convert", "--dataset", "sample", "--format", "npy", "--out", str(out), "-q")[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    if key.startswith("options."):
        manifest["options"][key.split(".")[1]] = value
    else:
        manifest[key] = value
    (out / "manifest.json").write_text(json.dumps(manifest))
    one_error(run("inspect", str(out)), message)
    one_error(run("verify", str(out), "--dataset", "sample"), message)
    one_error(run("pack", str(out), "--out", str(tmp_path / "p")), message)
    force = ["convert", "--dataset", "sample", "--format", "npy", "--out", str(out), "--force"]
    one_error(run(*force), message)
    assert json.loads((out / "manifest.json").read_text()) == manifest  # left as it was


@pytest.mark.parametrize("fmt", [n for n, info in TABLE.items() if info.rules.folder])
@pytest.mark.parametrize("entry", ["uint8", 3])
def test_a_manifest_array_that_is_not_shape_and_dtype_is_one_line(
    tmp_path: Path, fmt: str, entry: object
) -> None:
    """{"arrays": {"x_train": "uint8"}} was an AttributeError in the CSV reader."""
    out = tmp_path / "o"
    assert run("convert", "--dataset", "sample", "--format", fmt, "--out", str(out), "-q")[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["arrays"] = {name: entry for name in manifest["arrays"]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    message = f"is {json.dumps(entry)}, not its shape and dtype"
    one_error(run("inspect", str(out)), message)
    one_error(run("verify", str(out)), message)
    one_error(run("pack", str(out), "--out", str(tmp_path / "p")), message)


@pytest.mark.parametrize(
    ("shape", "size"), [((6, 28, 0), "28x0"), ((6, 0, 28), "0x28"), ((6, 0), "0x0")]
)
def test_pack_refuses_images_of_no_rows_or_no_columns(
    tmp_path: Path, shape: tuple[int, ...], size: str
) -> None:
    """Images 0 pixels wide or 0 rows tall were a ZeroDivisionError in pack."""
    source = npz(tmp_path / "in.npz", x_train=np.zeros(shape, np.uint8), y_train=Y)
    line = one_error(run("pack", str(source), "--out", str(tmp_path / "p")), "in.npz", "x_train")
    assert f"images of {size} pixels" in line and "at least one row and one column" in line


def test_pack_test_size_refuses_float_labels_that_only_round_to_one_hot(tmp_path: Path) -> None:
    """[0.5, 1, 0] was cast to [0, 1, 0] before --test-size split by class; labels.bad_rows,
    the one test of a one-hot row, refuses it as pack's other readers do."""
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    y[0] = [0.5, 1, 0]
    source = npz(tmp_path / "in.npz", x_train=np.zeros((6, 2, 2), np.uint8), y_train=y)
    args = ["pack", str(source), "--out", str(tmp_path / "p"), "--test-size", "3"]
    one_error(run(*args), "in.npz", "y_train holds rows that are not one-hot")


def test_a_recorded_option_no_run_can_have_is_a_source_error(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert run("convert", "--dataset", "sample", "--format", "npy", "--out", str(out), "-q")[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["options"]["dtype"] = "nonsense"
    (out / "manifest.json").write_text(json.dumps(manifest))
    one_error(
        run("verify", str(out), "--dataset", "sample"),
        "its provenance (the npz comment or manifest.json) is damaged: --dtype 'nonsense'",
    )


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (np.zeros((2, 2), np.complex128), "complex128"),
        (np.array(["a", "b"]), "<U1"),
        (np.array(["2020-01-01"], "datetime64[D]"), "datetime64[D]"),
        (np.zeros(2, [("a", "u1"), ("b", "f4")]), "[('a', 'u1'), ('b', '<f4')]"),
    ],
)
def test_arrays_that_are_not_numbers_are_one_line(
    tmp_path: Path, values: np.ndarray, shown: str
) -> None:
    source = npz(tmp_path / "in.npz", x_train=values, y_train=Y)
    for args in (["inspect", str(source)], ["pack", str(source), "--out", str(tmp_path / "p")]):
        one_error(run(*args), f"array x_train holds {shown}", "not numbers")


def _patched_zip(path: Path, local: int, central: int, value: Callable[[int], int]) -> None:
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = data.find(sig)
        while at >= 0:
            old = int.from_bytes(data[at + offset : at + offset + 2], "little")
            data[at + offset : at + offset + 2] = value(old).to_bytes(2, "little")
            at = data.find(sig, at + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ((6, 8, lambda flags: flags | 1), "array x_train is encrypted"),
        ((8, 10, lambda _: 99), "uses zip compression method 99"),
    ],
)
def test_zip_members_it_cannot_read_are_one_line(
    tmp_path: Path, patch: tuple[int, int, Callable[[int], int]], message: str
) -> None:
    source = npz(tmp_path / "in.npz", x_train=X, y_train=Y)
    _patched_zip(source, *patch)
    for command in ("inspect", "pack"):
        args = [command, str(source)] + (
            ["--out", str(tmp_path / "p")] if command == "pack" else []
        )
        one_error(run(*args), message)


def test_empty_and_missing_splits_are_read(tmp_path: Path) -> None:
    only_train = npz(tmp_path / "a.npz", x_train=X, y_train=Y)
    empty_test = npz(tmp_path / "b.npz", x_train=X, y_train=Y, x_test=X[:0], y_test=Y[:0])
    for source in (only_train, empty_test):
        rc, stdout, stderr = run("inspect", str(source), "--json")
        assert rc == 0, stderr
        arrays = json.loads(stdout)["arrays"]
        assert arrays["x_train"]["shape"] == [6, SIDE, SIDE]
        rc, _, stderr = run("pack", str(source), "--out", str(tmp_path / source.stem), "-q")
        assert rc == 0, stderr


def test_a_file_name_holding_a_newline_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "two\nlines.npz"
    path.write_bytes(b"not a zip")
    line = one_error(run("inspect", str(path)))
    assert "two\\nlines.npz" in line


# -- labels are exactly class ids (pack's rule, labels.class_ids) ---------------------------


def _onehot(dtype: str) -> np.ndarray:
    return np.eye(10, dtype=dtype)[Y]


def _wrapped() -> np.ndarray:
    y = _onehot("int16")
    y[1] = 0
    y[1, 0] = -255  # as uint8 this wraps to 1: must not pass for class 0
    return y


def _half() -> np.ndarray:
    y = _onehot("float64")
    y[0, 5] = 0.5
    return y


def _nan_ids() -> np.ndarray:
    y = Y.astype(np.float32)
    y[2] = np.nan
    return y


LABELS_REFUSED: dict[str, tuple[Callable[[], np.ndarray], tuple[str, ...]]] = {
    "int16 one-hot row with -255": (_wrapped, ("y_train row 1 is not one-hot", "-255")),
    "a 0.5 in a one-hot row": (_half, ("y_train row 0 is not one-hot", "0.5")),
    "two ones in a row": (
        lambda: _onehot("uint8") + np.eye(10, k=1, dtype=np.uint8)[Y],
        ("y_train row 0 is not one-hot",),
    ),
    "shape (6, 10, 1)": (lambda: _onehot("uint8")[:, :, None], ("has shape (6, 10, 1)",)),
    "NaN class id": (_nan_ids, ("y_train row 2 is nan, not a class id",)),
    "negative class id": (lambda: np.array([0, 1, 2, -1, 1, 2]), ("y_train row 3 is -1",)),
    "fractional class id": (lambda: Y + np.array([0, 0, 0, 0, 0.5, 0]), ("y_train row 4 is 1.5",)),
    "strings": (lambda: np.array(list("012012")), ("holds <U1 values",)),
}


@pytest.mark.parametrize("case", sorted(LABELS_REFUSED))
def test_pack_refuses_labels_that_are_not_exactly_class_ids(tmp_path: Path, case: str) -> None:
    make, messages = LABELS_REFUSED[case]
    source = npz(tmp_path / "in.npz", x_train=X, y_train=make())
    out = tmp_path / "out"
    one_error(run("pack", str(source), "--out", str(out)), *messages)
    assert not out.exists()


@pytest.mark.parametrize(
    "labels",
    [Y, Y.astype(np.int64), Y.astype(np.float32), _onehot("uint8"), _onehot("float32"),
     _onehot("bool"), _onehot("int16")],
    ids=["uint8", "int64", "float ids", "one-hot", "float one-hot", "bool one-hot",
         "int16 one-hot"],
)  # fmt: skip
def test_pack_takes_exact_class_ids_as_they_are(tmp_path: Path, labels: np.ndarray) -> None:
    source = npz(tmp_path / "in.npz", x_train=X, y_train=labels)
    rc, _, stderr = run("pack", str(source), "--out", str(tmp_path / "out"), "-q")
    assert rc == 0, stderr
    onehot = np.frombuffer(packed(tmp_path / "out")[1].read_bytes(), np.uint8)
    classes = 10 if labels.ndim == 2 else 3
    assert np.array_equal(onehot.reshape(-1, classes).argmax(axis=1), Y)


# -- a held-out corpus's findings ---------------------------------------------------------


def test_a_manifest_linked_from_outside_is_never_read(tmp_path: Path) -> None:
    out = tmp_path / "m"
    assert run("convert", "--dataset", "sample", "--format", "npy", "--out", str(out))[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = "SENTINEL-MARK"
    (elsewhere / "manifest.json").write_text(json.dumps(manifest))
    (out / "manifest.json").unlink()
    (out / "manifest.json").symlink_to(elsewhere / "manifest.json")
    for command in ("inspect", "verify"):
        code, out_text, err = run(command, str(out))
        assert code == 1 and "manifest.json: leads outside the source folder" in err, err
        assert "SENTINEL-MARK" not in out_text + err and err.count("\n") == 1


def test_json_nested_too_deeply_is_one_line(tmp_path: Path) -> None:
    record = tmp_path / "data.json"
    record.write_text("[" * 200_000 + "]" * 200_000)
    code, _, err = run("inspect", str(record))
    assert code == 1 and err.count("\n") == 1 and "internal error" not in err, err


def test_an_image_wider_than_a_canvas_is_refused_from_the_header(tmp_path: Path) -> None:
    """A 249 KB npz of one 16000x16000 image: refused before a pixel is read."""
    source = tmp_path / "big.npz"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as z:
        for name, array in (("x_train", np.zeros((1, 16000, 16000), np.uint8)), ("y_train", Y[:1])):
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                npformat.write_array(f, array)
    code, _, err = run("pack", str(source), "--out", str(tmp_path / "p"), bounded=True)
    assert code == 1 and "wider than the 32,767 a browser's canvas holds" in err, err
    assert not (tmp_path / "p").exists()


def test_a_csv_linked_from_outside_is_never_read(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "train.csv").write_text("label,pixel0,pixel1,pixel2,pixel3\n7,11,22,33,44\n")
    source = tmp_path / "c"
    source.mkdir()
    (source / "train.csv").symlink_to(elsewhere / "train.csv")
    for args in (["inspect", str(source)], ["inspect", str(source), "--show", "0"]):
        code, out, err = run(*args, "--image-size", "2x2")
        assert code == 1 and "train.csv: leads outside the source folder" in err, err
        assert "33" not in out and err.count("\n") == 1


@pytest.mark.parametrize("dtype", ["nonsense", "U5", "complex128", "float128"])
def test_a_csv_manifest_with_a_dtype_no_csv_holds_is_refused(tmp_path: Path, dtype: str) -> None:
    out = tmp_path / "c"
    assert run("convert", "--dataset", "sample", "--format", "csv", "--out", str(out))[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["arrays"]["x_train"]["dtype"] = dtype
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run("inspect", str(out))
    assert code == 1 and err.count("\n") == 1 and "internal error" not in err, err


def test_a_huge_label_file_is_inspected_in_flat_memory(tmp_path: Path) -> None:
    """A 400 MB label file (100,000 one-hot rows, then sparse zeros, rows that are not
    one-hot) read a block at a time."""
    labels = tmp_path / "labels_uint8"
    with open(labels, "wb") as f:
        f.write(np.eye(10, dtype=np.uint8)[np.arange(100_000) % 10].tobytes())
        f.truncate(400_000_000)
    code, _, err = run("inspect", str(labels), bounded=True)
    assert code == 1 and err.count("\n") == 1, err
    assert "39,900,000 of 40,000,000 rows are not one-hot" in err


def test_a_manifest_listing_many_idx_files_is_refused_at_once(tmp_path: Path) -> None:
    out = tmp_path / "i"
    assert run("convert", "--dataset", "sample", "--format", "idx", "--out", str(out))[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"] += [f"d{i}/train-images-idx3-ubyte" for i in range(20)]
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run("pack", str(out), "--out", str(tmp_path / "p"))
    assert code == 1 and "lists 24 IDX files, where an IDX output has four" in err, err


def test_a_folder_of_many_stray_folders_is_told_from_its_first_entries(tmp_path: Path) -> None:
    source = tmp_path / "s"
    source.mkdir()
    for i in range(10_050):
        (source / f"d{i:05}").mkdir()
    code, _, err = run("pack", str(source), "--out", str(tmp_path / "p"))
    assert code == 1 and "its first 10,000 entries are folders, with no file" in err, err


# -- a link swapped in after the folder was checked: the open itself is checked ------------


def test_open_source_with_root_refuses_a_file_outside_it(tmp_path: Path) -> None:
    from mnist_sprite.errors import SourceError
    from mnist_sprite.files import open_source

    folder, elsewhere = tmp_path / "src", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (elsewhere / "secret").write_bytes(b"secret")
    (folder / "own").write_bytes(b"own")
    (folder / "in").symlink_to(folder / "own")  # a link that stays inside is read
    (folder / "out").symlink_to(elsewhere / "secret")
    with open_source(folder / "in", folder) as f:
        assert f.read() == b"own"
    with pytest.raises(SourceError, match="leads outside the source folder"):
        open_source(folder / "out", folder)
    with open_source(folder / "out") as f:  # no root: a file the user names directly
        assert f.read() == b"secret"


def test_without_proc_the_open_is_checked_against_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnist_sprite import files
    from mnist_sprite.errors import SourceError

    monkeypatch.setattr(files, "_descriptor_path", lambda fd: "")  # as on macOS: no /proc
    folder, elsewhere = tmp_path / "src", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (elsewhere / "secret").write_bytes(b"secret")
    (folder / "own").write_bytes(b"own")
    (folder / "out").symlink_to(elsewhere / "secret")
    with files.open_source(folder / "own", folder) as f:
        assert f.read() == b"own"
    with pytest.raises(SourceError, match="leads outside the source folder"):
        files.open_source(folder / "out", folder)


@pytest.mark.parametrize(
    ("fmt", "victim"),
    [("csv", "train.csv"), ("png-dir", "train/3/*.png"), ("npy", "x_train.npy")],
)
def test_a_file_swapped_for_a_link_out_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, victim: str
) -> None:
    """A link swapped in between the folder's check and the open: here the check before the
    open sees nothing wrong (as when the swap comes just after it), so only the check on the
    open file stands between the read and the file outside."""
    from mnist_sprite.errors import SourceError
    from mnist_sprite.formats import open_output

    folder, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert CliRunner().invoke(cli, ["convert", "--dataset", "sample", "--format", fmt,
                                    "--out", str(folder), "-q"]).exit_code == 0  # fmt: skip
    path = sorted(folder.glob(victim))[0]
    path.rename(elsewhere / path.name)
    path.symlink_to(elsewhere / path.name)
    reader = open_output(folder)
    for module in ("csv", "pngdir", "npy"):
        monkeypatch.setattr(f"mnist_sprite.formats.{module}.inside", lambda root, p: p)
    with (
        pytest.raises(SourceError, match="leads outside the source folder"),
        reader.array("x_train") as (_, pieces),
    ):
        for _ in pieces:
            pass
