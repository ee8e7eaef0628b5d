"""The CSV reader (formats/csv.py): what convert writes reads back exactly, by numpy in
blocks; every other kind of line is refused in one line that names the line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mnist_sprite.cli import cli
from mnist_sprite.errors import SourceError
from mnist_sprite.formats import csv as csv_format
from mnist_sprite.formats.csv import CsvReader
from tests.cli_kit import one_line, run

HEAD4 = b"label,pixel0,pixel1,pixel2,pixel3\n"


def folder_with(tmp_path: Path, text: bytes, name: str = "train.csv") -> Path:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / name).write_bytes(text)
    return folder


def read(folder: Path) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    reader = CsvReader(folder)
    out = {}
    for name in reader.names():
        with reader.array(name) as (member, pieces):
            parts = list(pieces)
            assert parts, "a reader gives at least one piece"
            out[name] = np.concatenate(parts).reshape(member.shape)
            assert out[name].dtype == member.dtype
    return out


def refusal(folder: Path) -> str:
    result = CliRunner().invoke(cli, ["inspect", str(folder)], catch_exceptions=False)
    stderr = result.stderr
    assert result.exit_code == 1, stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    return stderr


def test_reads_what_convert_writes_in_any_order(tmp_path: Path) -> None:
    out = tmp_path / "csv"
    args = ["convert", "--dataset", "sample", "--format", "csv", "--out", str(out), "-q"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    npz = tmp_path / "s.npz"
    args = ["convert", "--dataset", "sample", "--dtype", "uint8", "--shape", "flat",
            "--label-format", "index", "--out", str(npz), "-q"]  # fmt: skip
    assert CliRunner().invoke(cli, args).exit_code == 0
    expected = dict(np.load(npz))
    got = read(out)  # x before y: the labels come from the pixel read
    reader = CsvReader(out)  # y first: the labels are read on their own
    with reader.array("y_test") as (_, pieces):
        np.testing.assert_array_equal(np.concatenate(list(pieces)), expected["y_test"])
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])


def test_reads_across_many_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks cut mid-line are finished with the rest of the line; numbering carries on."""
    monkeypatch.setattr(csv_format, "_BLOCK_BYTES", 37)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (200, 4), dtype=np.uint8)
    y = rng.integers(0, 10, 200, dtype=np.uint8)
    lines = [HEAD4.decode()] + [f"{y[i]},{','.join(map(str, x[i]))}\n" for i in range(200)]
    folder = folder_with(tmp_path, "".join(lines).encode())
    got = read(folder)
    np.testing.assert_array_equal(got["x_train"], x)
    np.testing.assert_array_equal(got["y_train"], y)
    bad = "".join(lines[:150]) + "1,2,3\n" + "".join(lines[150:])
    (folder / "train.csv").write_text(bad)
    assert "line 151 holds 3 values" in refusal(folder)


def test_a_last_line_without_its_newline_is_read(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, HEAD4 + b"1,2,3,4,5\n6,7,8,9,10")
    got = read(folder)
    assert got["x_train"].tolist() == [[2, 3, 4, 5], [7, 8, 9, 10]]
    assert got["y_train"].tolist() == [1, 6]


def test_crlf_lines_are_read(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, HEAD4.replace(b"\n", b"\r\n") + b"1,2,3,4,5\r\n6,7,8,9,10\r\n")
    assert read(folder)["x_train"].tolist() == [[2, 3, 4, 5], [7, 8, 9, 10]]


def test_a_header_only_csv_is_an_empty_split(tmp_path: Path) -> None:
    got = read(folder_with(tmp_path, HEAD4))
    assert got["x_train"].shape == (0, 4) and got["y_train"].shape == (0,)
    result = CliRunner().invoke(cli, ["inspect", str(tmp_path / "c")], catch_exceptions=False)
    assert result.exit_code == 0 and "internal error" not in result.stderr


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"1,2,3\n4,5,6,7,8\n", "line 2 holds 3 values where the header names a label and 4"),
        (b"1,2,3,4,5\n4,5,6,7,8,9\n", "line 3 holds 6 values"),
        # 3 and 5 values: as many as two lines of 4, but never pixels shifted between images
        (b"1,2,3\n4,5,6,7,8\n", "line 2"),
        (b"7\n8\n", "line 2 holds only a label, no pixel values"),
        (b"1,2,3,4,5\n7\n", "line 3 holds only a label"),
        (b"1,2,17.0,4,5\n", "line 2, cell 3 (pixel1) holds '17.0', which is not a whole number"),
        (b"1,2,3,4,5\n1,2,3,4,300\n", "line 3 holds 300, outside 0..255 of uint8"),
        (b"1,2,3,4,-1\n", "line 2 holds -1, outside 0..255"),
        (b"1,2,x,4,5\n", "line 2, cell 3 (pixel1) holds 'x'"),
        (b"1,2,,4,5\n", "line 2, cell 3 (pixel1) holds ''"),
        (b'1,"2",3,4,5\n', 'line 2 holds quoted cells ("...")'),
        (b"1,2,3,4,5\n\n1,2,3,4,5\n", "line 3 is empty"),
        (b"1,2,3,4,5\n1,2,3,4,5\n\n", "line 4 is empty"),
        (b"1,2,3,4,5\n1,2\r3,4,5\n", "line 3 holds a CR that does not end it"),
        (b"1000,2,3,4,5\n", "line 2 holds 1000, outside 0..255 of uint8"),
        (b"1x,2,3,4,5\n", "line 2, cell 1 (label) holds '1x'"),
    ],
)
def test_bad_lines_are_refused_by_number(tmp_path: Path, body: bytes, message: str) -> None:
    assert message in refusal(folder_with(tmp_path, HEAD4 + body))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xef\xbb\xbf" + HEAD4 + b"1,2,3,4,5\n", "byte-order mark"),
        (HEAD4.replace(b"\n", b"\r") + b"1,2,3,4,5\r", "CR alone"),
        (b'"label","pixel0"\n"1","2"\n', 'line 1 holds quoted cells ("...")'),
        (b"pixel0,pixel1\n1,2\n", "no 'label,pixel0,...' header line"),
        (b"label\n1\n", "names no pixel columns"),
        (b"", "no 'label,pixel0,...' header line"),
    ],
)
def test_files_that_are_not_this_kind_of_csv(tmp_path: Path, text: bytes, message: str) -> None:
    assert message in refusal(folder_with(tmp_path, text))


def test_a_line_too_long_for_its_header_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays a block and a line: a line past what its values can take is not read."""
    monkeypatch.setattr(csv_format, "_BLOCK_BYTES", 64)
    folder = folder_with(tmp_path, HEAD4 + b"1," + b"2" * 100_000 + b"\n")
    with pytest.raises(SourceError, match="line 2 is longer than 162 bytes"):
        read(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_by_stat_without_hanging(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    os.mkfifo(folder / "train.csv")
    code = (
        "import sys; from click.testing import CliRunner; from mnist_sprite.cli import cli; "
        "r = CliRunner().invoke(cli, ['inspect', sys.argv[1]]); "
        "sys.stderr.write(r.stderr); sys.exit(r.exit_code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "train.csv: is not a regular file" in done.stderr


def test_csv_values_outside_the_dtype_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert run("convert", "--dataset", "sample", "--format", "csv", "--out", str(out), "-q")[0] == 0
    lines = (out / "train.csv").read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = "300"
    lines[1] = ",".join(cells)
    (out / "train.csv").write_text("\n".join(lines) + "\n")
    code, _, stderr = run("inspect", str(out))
    assert code == 1
    one_line(stderr, "line 2 holds 300, outside 0..255 of uint8")
    code, _, stderr = run("pack", str(out), "--out", str(tmp_path / "w"))
    assert code == 1 and "outside 0..255" in stderr
