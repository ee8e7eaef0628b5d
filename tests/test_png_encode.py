"""The encoder writes one ordinary PNG that pypng, zlib and our own decoder read back exactly,
byte for byte the same whatever the thread count and however the rows are split."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import png
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_sprite.png import SIGNATURE, read_red
from mnist_sprite.png.encode import IDAT_BYTES, write_png
from tests import pngkit
from tests.conftest import REAL_SPRITE, needs_real

U8 = np.ndarray[Any, np.dtype[np.uint8]]


def encode(image: U8, channels: int = 1, splits: list[int] | None = None, **kwargs: Any) -> bytes:
    """``image`` (height, width * channels) written in blocks cut at the rows ``splits``."""
    height, stride = image.shape
    cuts = [0, *sorted(splits or []), height]
    blocks = [image[a:b] for a, b in itertools.pairwise(cuts)]
    buf = io.BytesIO()
    n = write_png(buf, blocks, stride // channels, height, channels=channels, **kwargs)
    data = buf.getvalue()
    assert n == len(data)
    return data


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk, checking each CRC and that nothing follows IEND."""
    assert data[:8] == SIGNATURE
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(ctype + body), f"bad CRC on {ctype!r}"
        out.append((ctype, body))
        pos += 12 + length
    assert pos == len(data)
    assert out == pngkit.split_chunks(data)
    return out


def pypng_rows(data: bytes) -> tuple[U8, dict[str, Any]]:
    _, height, rows, info = png.Reader(bytes=data).read()
    pixels = np.array([list(r) for r in rows], dtype=np.uint8).reshape(height, -1)
    return pixels, info


def image_of(seed: int, height: int, stride: int, alphabet: int) -> U8:
    """Random pixels from ``alphabet`` values: 2 makes long matches that cross pieces."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 256, alphabet, dtype=np.uint8)
    out: U8 = values[rng.integers(0, alphabet, (height, stride))]
    return out


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    channels = draw(st.sampled_from([1, 3]))
    height = draw(st.sampled_from([1, 2, 3, 7, 16, 40]))
    width = draw(st.sampled_from([1, 2, 5, 28, 41]))
    splits = draw(st.lists(st.integers(0, height), max_size=6))
    image = image_of(
        draw(st.integers(0, 2**32)), height, width * channels, draw(st.sampled_from([1, 2, 256]))
    )
    return {
        "image": image,
        "channels": channels,
        "splits": splits,
        "level": draw(st.sampled_from([0, 1, 6, 9])),
        "workers": draw(st.sampled_from([1, 2, 3])),
        "piece_bytes": draw(st.sampled_from([1, 7, 64, 1000, 1 << 20])),
    }


@settings(max_examples=120, deadline=None)
@given(case=cases())
def test_round_trip(case: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    image, channels = case["image"], case["channels"]
    height, stride = image.shape
    data = encode(**case)

    # Byte-identical to one block, one thread, whatever the split and the thread count.
    simple = {**case, "splits": [], "workers": 1}
    assert data == encode(**simple)

    kinds = [ctype for ctype, _ in chunks(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert set(kinds[1:-1]) == {b"IDAT"}

    # One zlib stream (zlib checks its adler32) of filter-None scanlines.
    stream = zlib.decompress(b"".join(body for ctype, body in chunks(data) if ctype == b"IDAT"))
    assert stream == np.hstack([np.zeros((height, 1), np.uint8), image]).tobytes()

    pixels, info = pypng_rows(data)
    assert info["greyscale"] == (channels == 1) and not info["alpha"]
    assert info["bitdepth"] == 8 and info["size"] == (stride // channels, height)
    np.testing.assert_array_equal(pixels, image)

    path = tmp_path_factory.mktemp("enc") / "image.png"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_red(path), image[:, ::channels])


@pytest.mark.parametrize("piece_bytes", [4096, 40_000])
def test_many_pieces_match_one_stream(piece_bytes: int) -> None:
    """Pieces primed with the 32 KiB before them (taken from several short pieces, or from the
    end of one long one) inflate as one stream, and compress like it, within a little."""
    image = image_of(5, 400, 1000, 2)
    filtered = np.hstack([np.zeros((400, 1), np.uint8), image]).tobytes()
    whole = encode(image, piece_bytes=1 << 30)
    data = encode(image, piece_bytes=piece_bytes, workers=2)
    assert zlib.decompress(b"".join(body for ctype, body in chunks(data) if ctype == b"IDAT")) == (
        filtered
    )
    assert len(whole) < len(data) < len(whole) * 1.1
    assert encode(image, piece_bytes=piece_bytes, workers=1) == data
    np.testing.assert_array_equal(pypng_rows(data)[0], image)


@pytest.mark.parametrize("piece_bytes", [1000, 4096, 40_000])
def test_pieces_refer_back_into_their_dictionary(piece_bytes: int) -> None:
    """One random row repeated: each piece is all matches into the 32 KiB before it. Without
    the dictionary every piece would spell the row out again (about 1,000 bytes each)."""
    row = np.random.default_rng(0).integers(0, 256, (1, 1000), dtype=np.uint8)
    image: U8 = np.repeat(row, 400, axis=0)
    data = encode(image, piece_bytes=piece_bytes, workers=2)
    np.testing.assert_array_equal(pypng_rows(data)[0], image)
    assert len(data) < len(encode(image)) + 5000


def test_deterministic_across_workers_and_blocks() -> None:
    image = image_of(1, 300, 3 * 50, 3)
    ways: list[list[int]] = [[], list(range(1, 300)), [0, 0, 5, 5, 299, 300, 300], [150]]
    outputs = {
        encode(image, 3, splits, workers=w, piece_bytes=500) for splits in ways for w in (1, 2, 3)
    }
    assert len(outputs) == 1


def test_rows_from_a_generator_in_odd_blocks() -> None:
    image = image_of(2, 97, 33, 256)

    def blocks() -> Iterator[U8]:
        start = 0
        for k in [0, 1, 30, 0, 50, 16]:
            yield image[start : start + k]
            start += k

    buf = io.BytesIO()
    write_png(buf, blocks(), 33, 97, workers=2, piece_bytes=100)
    assert buf.getvalue() == encode(image, piece_bytes=100)


def test_idat_chunks_are_at_most_64_kib() -> None:
    image = image_of(3, 300, 3 * 300, 256)  # incompressible: about 270 kB of image data
    data = encode(image, 3, level=1, workers=2, piece_bytes=1 << 16)
    sizes = [len(body) for ctype, body in chunks(data) if ctype == b"IDAT"]
    assert len(sizes) >= 4
    assert all(s == IDAT_BYTES == 65536 for s in sizes[:-1])
    assert 0 < sizes[-1] <= IDAT_BYTES


@pytest.mark.parametrize("level", range(10))
def test_zlib_header_is_zlibs_own(level: int) -> None:
    data = encode(image_of(4, 4, 4, 2), level=level)
    idat = b"".join(body for ctype, body in chunks(data) if ctype == b"IDAT")
    assert idat[:2] == zlib.compress(b"", level)[:2]
    assert (idat[0] * 256 + idat[1]) % 31 == 0


def test_ihdr() -> None:
    for channels, colour in [(1, 0), (3, 2)]:
        header = pngkit.header_of(encode(image_of(0, 5, 7 * channels, 256), channels))
        assert (header.width, header.height, header.bit_depth) == (7, 5, 8)
        assert (header.color_type, header.interlace) == (colour, 0)


def test_text_chunks() -> None:
    text = {"Title": "MNIST sprite", "Author": "Zoë", "Comment": "two\nlines", "Empty": ""}
    data = encode(image_of(0, 3, 3, 2), text=text)
    found = [(ctype, body) for ctype, body in png.Reader(bytes=data).chunks()]
    kinds = [ctype for ctype, _ in found]
    assert kinds[0] == b"IHDR" and kinds[1 : 1 + len(text)] == [b"tEXt"] * len(text)
    assert kinds[1 + len(text)] == b"IDAT"
    pairs = [body.split(b"\0", 1) for ctype, body in found if ctype == b"tEXt"]
    decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in pairs]
    assert decoded == sorted(text.items())
    pixels, _ = pypng_rows(data)
    np.testing.assert_array_equal(pixels, image_of(0, 3, 3, 2))


@pytest.mark.parametrize("workers", [1, 2])
def test_appends_to_what_out_holds(workers: int) -> None:
    buf = io.BytesIO(b"prefix")
    buf.seek(0, io.SEEK_END)
    n = write_png(buf, [image_of(0, 10, 10, 2)], 10, 10, workers=workers, piece_bytes=16)
    assert n == len(buf.getvalue()) - len(b"prefix")
    assert buf.getvalue()[6:] == encode(image_of(0, 10, 10, 2), piece_bytes=16)


GOOD = np.zeros((4, 6), np.uint8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": 2}, "channels must be 1"),
        ({"channels": 4}, "channels must be 1"),
        ({"width": 0}, "width must be from 1"),
        ({"height": 0}, "height must be from 1"),
        ({"width": 2.0}, "width must be a whole number"),
        ({"height": True}, "height must be a whole number"),
        ({"level": -1}, "level must be from 0 to 9"),
        ({"level": 10}, "level must be from 0 to 9"),
        ({"workers": 0}, "workers must be from 1"),
        ({"piece_bytes": 0}, "piece_bytes must be from 1"),
        ({"text": {"": "x"}}, "keyword"),
        ({"text": {"k" * 80: "x"}}, "keyword"),
        ({"text": {" lead": "x"}}, "keyword"),
        ({"text": {"trail ": "x"}}, "keyword"),
        ({"text": {"two  spaces": "x"}}, "keyword"),
        ({"text": {"tab\there": "x"}}, "keyword"),
        ({"text": {"euro€": "x"}}, "not Latin-1"),
        ({"text": {"key": "euro €"}}, "not Latin-1"),
        ({"text": {"key": "nul\0"}}, "NUL"),
        ({"rows": [GOOD[:, :5]]}, r"shape \(4, 5\), not \(rows, 6\)"),
        ({"rows": [GOOD.reshape(-1)]}, "shape"),
        ({"rows": [GOOD[:, :, None]]}, "shape"),
        ({"rows": [GOOD.astype(np.uint16)]}, "dtype uint16, not uint8"),
        ({"rows": [GOOD.astype(np.float32)]}, "dtype float32"),
        ({"rows": [GOOD.tolist()]}, "row block 0 is a list"),
        ({"rows": [GOOD, GOOD[:1]]}, "more than the 4 rows"),
        ({"rows": [GOOD[:3]]}, "hold 3 rows; the image has 4"),
        ({"rows": []}, "hold 0 rows"),
        ({"rows": [GOOD, GOOD[:1]], "workers": 2, "piece_bytes": 3}, "more than the 4 rows"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"rows": [GOOD], "width": 6, "height": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        write_png(io.BytesIO(), **args)


def test_bad_arguments_write_nothing() -> None:
    buf = io.BytesIO()
    with pytest.raises(ValueError):
        write_png(buf, [GOOD], 6, 4, text={"bad\0key": "x"})
    assert buf.getvalue() == b""


@needs_real
def test_real_sprite(tmp_path: Path) -> None:
    """The MNIST pixels round-trip, in fewer bytes than Pillow's 10,689,542 (filter None)."""
    pixels = read_red(REAL_SPRITE)
    path = tmp_path / "sprite.png"
    with path.open("wb") as f:
        n = write_png(f, (pixels[i : i + 5000] for i in range(0, 65000, 5000)), 784, 65000)
    assert n == path.stat().st_size < 10_689_542
    np.testing.assert_array_equal(read_red(path), pixels)
