"""The Hugging Face Hub's two forms, both ways: ``convert --format parquet`` and ``--format
webdataset`` read back equal, by this tool and by pyarrow and tarfile on their own; pack reads
a Parquet file as ``datasets`` writes it and a WebDataset folder; hostile files are refused."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import mnist_sprite
from tests import pngkit
from tests.cli_kit import ok, run

pa = pytest.importorskip("pyarrow", reason="pip install 'mnist-sprite[parquet]' to test Parquet")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    (x, y), (xt, yt) = mnist_sprite.load_data(
        "sample", dtype="uint8", label_format="index", shape="image"
    )
    return x, y, xt, yt


def hf_parquet(path: Path, x: np.ndarray, y: np.ndarray, names: list[str]) -> Path:
    """A Parquet file as ``datasets.Dataset.to_parquet()`` writes one: Pillow's PNGs, int64
    labels, the huggingface schema metadata (an independent writer: no code of ours)."""
    pngs = []
    for image in x:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        pngs.append(buffer.getvalue())
    meta = {"info": {"features": {"image": {"_type": "Image"},
                                  "label": {"names": names, "_type": "ClassLabel"}}}}  # fmt: skip
    image = pa.StructArray.from_arrays(
        [pa.array(pngs, pa.binary()), pa.nulls(len(pngs), pa.string())], ["bytes", "path"]
    )
    table = pa.table({"image": image, "label": pa.array(y.astype(np.int64))})
    table = table.replace_schema_metadata({"huggingface": json.dumps(meta)})
    pq.write_table(table, path)
    return path


def test_parquet_output_reads_back_with_pyarrow_alone(tmp_path: Path, sample: tuple) -> None:
    x, y, xt, yt = sample
    ok("convert", "--dataset", "sample", "--format", "parquet", "--out", str(tmp_path / "hub"))
    for split, xs, ys in (("train", x, y), ("test", xt, yt)):
        table = pq.read_table(tmp_path / "hub" / "sample" / f"{split}-00000-of-00001.parquet")
        assert table.column("label").type == pa.int64()
        assert table.column("label").to_pylist() == ys.tolist()
        images = [
            np.array(Image.open(io.BytesIO(r["bytes"]))) for r in table.column("image").to_pylist()
        ]
        np.testing.assert_array_equal(np.stack(images), xs)
        meta = json.loads(table.schema.metadata[b"huggingface"])
        assert meta["info"]["features"]["label"]["names"] == [str(i) for i in range(10)]
        assert meta["info"]["features"]["image"] == {"_type": "Image"}
    card = (tmp_path / "hub" / "README.md").read_text()
    assert "config_name: sample" in card and "path: sample/train-*" in card


def test_parquet_output_is_deterministic(tmp_path: Path) -> None:
    for out in ("a", "b"):
        ok("convert", "--dataset", "sample", "--format", "parquet", "--out", str(tmp_path / out))
    for name in ("sample/train-00000-of-00001.parquet", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
def test_hub_outputs_verify_and_inspect(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / fmt
    ok("convert", "--dataset", "sample", "--format", fmt, "--out", str(out))
    code, report, _ = run("verify", str(out))
    assert code == 0, report
    facts = json.loads(ok("inspect", str(out), "--json"))
    assert facts["kind"] == fmt and facts["arrays"]["x_train"]["shape"] == [800, 28, 28]


def test_webdataset_output_reads_back_with_tarfile_alone(tmp_path: Path, sample: tuple) -> None:
    x, y, _, _ = sample
    ok("convert", "--dataset", "sample", "--format", "webdataset", "--shard-rows", "300",
       "--out", str(tmp_path / "wds"))  # fmt: skip
    shards = sorted((tmp_path / "wds").glob("train-*.tar"))
    assert [s.name for s in shards] == ["train-000000.tar", "train-000001.tar", "train-000002.tar"]
    images, labels, names = [], [], []
    for shard in shards:
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                assert member.mtime == 0 and member.uid == member.gid == 0 and member.uname == ""
                names.append(member.name)
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                if member.name.endswith(".png"):
                    images.append(np.array(Image.open(io.BytesIO(data))))
                else:
                    labels.append(int(data))
    assert names == sorted(names) and names[:2] == ["000000.cls", "000000.png"]
    np.testing.assert_array_equal(np.stack(images), x)
    assert labels == y.tolist()


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    per_class=st.integers(1, 4),
    classes=st.integers(1, 5),
    rgb=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_pack_reads_a_parquet_as_datasets_writes_it(
    tmp_path_factory: pytest.TempPathFactory, per_class: int, classes: int, rgb: bool, seed: int
) -> None:
    tmp = tmp_path_factory.mktemp("hub")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes, dtype=np.uint8), per_class)
    x = rng.integers(0, 256, (y.size, 5, 3, 3) if rgb else (y.size, 5, 3), dtype=np.uint8)
    names = [f"kind {c}" for c in range(classes)]
    source = hf_parquet(tmp / "train-00000-of-00001.parquet", x, y, names)
    ok("pack", str(source), "--out", str(tmp / "web"), "-q")
    facts = json.loads((tmp / "web" / "data.json").read_text())
    assert facts["class_names"] == names and facts["images"] == y.size
    ok("convert", "--sprite", str(tmp / "web" / "data.json"), "--out", str(tmp / "back.npz"),
       "--dtype", "uint8", "--label-format", "index", "--shape", "image")  # fmt: skip
    with np.load(tmp / "back.npz") as back:
        np.testing.assert_array_equal(back["x_train"], x)
        np.testing.assert_array_equal(back["y_train"], y)


def test_pack_reads_a_webdataset_folder(tmp_path: Path, sample: tuple) -> None:
    ok("convert", "--dataset", "sample", "--format", "webdataset", "--out", str(tmp_path / "wds"))
    ok("pack", str(tmp_path / "wds"), "--out", str(tmp_path / "web"), "-q")
    x, y, xt, yt = sample
    (bx, by), (btx, bty) = mnist_sprite.load_data(
        sprite=tmp_path / "web" / "data.json", dtype="uint8", label_format="index", shape="image"
    )
    for got, want in ((bx, x), (by, y), (btx, xt), (bty, yt)):
        np.testing.assert_array_equal(got, want)


def test_a_jpeg_in_a_parquet_is_refused_naming_its_row(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buffer, format="JPEG")
    image = pa.StructArray.from_arrays(
        [pa.array([buffer.getvalue()], pa.binary()), pa.nulls(1, pa.string())], ["bytes", "path"]
    )
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"image": image, "label": pa.array([0], pa.int64())}), path)
    code, _, err = run("pack", str(path), "--out", str(tmp_path / "web"))
    assert code == 1 and err.count("\n") == 1
    assert "row 0" in err and "is a JPEG image" in err and "Traceback" not in err
    assert not (tmp_path / "web").exists()


def _tar(path: Path, members: list[tuple[str, bytes, bytes]]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if kind == b"link":
                info.type, info.linkname, info.size = tarfile.SYMTYPE, "/etc/passwd", 0
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(
    ("member", "kind", "said"),
    [("../000000.png", b"", "not a plain file name"), ("/abs.png", b"", "not a plain file name"),
     ("000000.png", b"link", "not a regular file"), ("000000.txt", b"", "not a .png or .cls")],
)  # fmt: skip
def test_hostile_tar_members_are_refused(
    tmp_path: Path, member: str, kind: bytes, said: str
) -> None:
    folder = tmp_path / "wds"
    folder.mkdir()
    _tar(folder / "train-000000.tar", [(member, b"x", kind), ("000000.cls", b"1", b"")])
    code, _, err = run("pack", str(folder), "--out", str(tmp_path / "web"))
    assert code == 1 and said in err and err.count("\n") == 1, err


def test_a_truncated_parquet_is_refused_before_reading(tmp_path: Path) -> None:
    ok("convert", "--dataset", "sample", "--format", "parquet", "--out", str(tmp_path / "hub"))
    path = tmp_path / "hub" / "sample" / "train-00000-of-00001.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    code, _, err = run("inspect", str(tmp_path / "hub"))
    assert code == 1 and "train-00000-of-00001.parquet" in err and "Parquet" in err


def test_parquet_without_pyarrow_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, _, err = run("convert", "--dataset", "sample", "--format", "parquet",
                       "--out", str(tmp_path / "hub"))  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    assert "pip install 'mnist-sprite[parquet]'" in err and not (tmp_path / "hub").exists()


def test_webdataset_shards_are_the_bytes_tarfile_writes(tmp_path: Path) -> None:
    """Our tar writer against the standard library's, member for member and byte for byte."""
    ok("convert", "--dataset", "sample", "--format", "webdataset", "--shard-rows", "300",
       "--out", str(tmp_path / "wds"))  # fmt: skip
    for shard in sorted((tmp_path / "wds").glob("*.tar")):
        with tarfile.open(shard) as ours:
            members = [(m.name, ours.extractfile(m).read()) for m in ours.getmembers()]  # type: ignore[union-attr]
        again = tmp_path / "again.tar"
        with tarfile.open(again, "w", format=tarfile.USTAR_FORMAT) as theirs:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                info.uname = info.gname = ""
                theirs.addfile(info, io.BytesIO(data))
        a, b = bytearray(shard.read_bytes()), bytearray(again.read_bytes())
        assert len(a) == len(b), shard.name
        offset = 0
        for _, data in members:  # each header but its checksum and device fields (tarfile
            for block in (a, b):  # leaves those empty for a file from Python 3.12 on)
                block[offset + 148 : offset + 156] = bytes(8)
                block[offset + 329 : offset + 345] = bytes(16)
            offset += 512 + len(data) + -len(data) % 512
        assert a == b, shard.name


@pytest.mark.parametrize(
    ("order", "problem"),
    [
        ([b"IDAT", b"tEXt", b"IDAT"], "IDAT chunks are not consecutive"),
        ([b"IDAT", b"ZZZZ"], "unknown critical chunk ZZZZ"),
        ([b"ABCD", b"IDAT"], "unknown critical chunk ABCD"),
    ],
)
def test_an_image_in_memory_is_read_by_the_same_chunk_rules_as_a_file(
    tmp_path: Path, order: list[bytes], problem: str
) -> None:
    """A Parquet row's or a tar member's PNG meets every rule read_red enforces on a file."""
    from mnist_sprite.errors import PngFormatError
    from mnist_sprite.png import read_red
    from mnist_sprite.png.memory import decode_png

    good = pngkit.gray_png(np.arange(16, dtype=np.uint8).reshape(4, 4))
    chunks = dict(pngkit.split_chunks(good))
    data, body = pngkit.SIGNATURE + pngkit.chunk(b"IHDR", chunks[b"IHDR"]), chunks[b"IDAT"]
    halves = iter([body[: len(body) // 2], body[len(body) // 2 :]])
    for kind in order:
        data += pngkit.chunk(kind, next(halves) if kind == b"IDAT" else b"x\0y")
    data += pngkit.chunk(b"IEND", b"")
    if order.count(b"IDAT") == 1:  # one IDAT: the whole stream in it
        data = data.replace(
            pngkit.chunk(b"IDAT", body[: len(body) // 2]), pngkit.chunk(b"IDAT", body)
        )
    (tmp_path / "x.png").write_bytes(data)
    with pytest.raises(PngFormatError, match=problem):
        read_red(tmp_path / "x.png")
    with pytest.raises(PngFormatError, match=problem):
        decode_png(data, "row 0", 1 << 20)
