"""The pixel stage: IDAT bytes -> inflated scanlines -> unfiltered rows -> the red channel.

Inflates the zlib stream in bounded pieces (PNG spec section 10), undoes row filters a block
of scanlines at a time (section 9, ``unfilter.py``), reassembles Adam7 passes (section 8.2)
and reduces each pixel to the red value a browser's canvas gives back: gray for grayscale,
red for RGB, the palette entry's red for palette images. Samples of fewer than 8 bits are
scaled to 0..255 (``v * 255 / (2**depth - 1)``, exact); 16-bit samples keep their high byte,
as Chromium does; pixels with alpha below 255 go through the canvas's premultiplied storage
(``canvas.py``).

``decoder="pypng"`` takes pixels from pypng's reader instead (the decoder of record, pure
Python), after the same structural checks, so the two paths can be compared.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..choices import DRAW_ROWS, Decoder
from ..errors import PathLike, PngFormatError
from .canvas import DEFAULT_ENGINE, ENGINES, Canvas, check_engine, colour_rule, sixteen_to_eight
from .chunks import MAX_PIXELS, ChunkReader, Header
from .unfilter import unfilter_block

U8 = npt.NDArray[np.uint8]
FILTER_NAMES = ("none", "sub", "up", "average", "paeth")
# Filtered bytes handed to the unfilter step at once. Larger blocks shorten the Average and
# Paeth wavefronts (a block of k rows of w pixels takes k + w steps), smaller ones save memory.
_BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class Survey:
    """What one full decode found: the pixel digest, and what the file is made of."""

    pixels_sha256: str
    filters: dict[str, int]  # scanlines per filter type
    chunks: dict[str, int]  # chunks per type
    idat_bytes: int
    file_bytes: int


@dataclass
class _Tally:
    filters: list[int] = field(default_factory=lambda: [0] * 5)


class PngFile:
    """An open PNG: the checked chunk stream (:attr:`chunks`) and its pixels.

    Use as a context manager. Pixels come from :meth:`red_blocks`; the raw filtered
    scanlines from :meth:`scanline_blocks`. Each may be iterated once.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        max_pixels: int = MAX_PIXELS,
        root: PathLike | None = None,
        digest: bool = False,
        data: bytes | None = None,
    ) -> None:
        self.chunks = ChunkReader(path, max_pixels=max_pixels, root=root, digest=digest, data=data)
        self.path = self.chunks.path
        self.header: Header = self.chunks.header
        self._rgb = False  # what the pixel stage reduces to: red, or red, green and blue
        self._engine = DEFAULT_ENGINE  # whose canvas: 16-bit samples and alpha differ
        self._gamma: U8 | None = None  # the engine's gAMA correction of each sample, if any
        # A red-only decode met a pixel whose green or blue is not its red: colour was dropped.
        self.colours_differ = False

    def __enter__(self) -> PngFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.chunks.close()

    @property
    def palette(self) -> U8 | None:
        return self.chunks.palette

    def scanline_blocks(self, tally: _Tally | None = None) -> Iterator[tuple[int, U8]]:
        """Yield (pass index, ``(k, 1 + row bytes)`` filtered scanlines), in file order.

        Checks that the stream holds exactly the scanlines the header declares, that every
        filter type is 0..4, and that the zlib stream and the chunk stream end properly.
        """
        stream = _Inflater(self.chunks.idat(), self.chunks.fail)
        rows_done = 0
        total_rows = sum(p[5] for p in self.header.passes())
        for index, (*_, w, h) in enumerate(self.header.passes()):
            row_len = 1 + self.header.row_bytes(w)
            per_block = max(1, _BLOCK_BYTES // row_len)
            for start in range(0, h, per_block):
                k = min(per_block, h - start)
                data = stream.read(k * row_len, rows_done, total_rows, row_len)
                block = np.frombuffer(data, dtype=np.uint8).reshape(k, row_len)
                bad = np.flatnonzero(block[:, 0] > 4)
                if bad.size:
                    row = rows_done + int(bad[0])
                    raise self.chunks.fail(
                        f"scanline {row} has invalid filter type {block[bad[0], 0]}"
                    )
                rows_done += k
                if tally is not None:
                    counts = np.bincount(block[:, 0], minlength=5).tolist()
                    tally.filters = [a + b for a, b in zip(tally.filters, counts, strict=True)]
                yield index, block
        stream.finish()

    @property
    def has_alpha(self) -> bool:
        """Can a pixel be less than opaque (an alpha channel, or a tRNS chunk)?"""
        return self.header.color_type in (4, 6) or self.chunks.transparency is not None

    @property
    def engine_dependent(self) -> bool:
        """May engines' canvases give different values: transparency (premultiplied, then
        composited, each engine rounding its own way), 16-bit samples (cut to 8 bits), or a
        gAMA chunk that engines correct differently (each its own window and table)."""
        if self.has_alpha or self.header.bit_depth == 16:
            return True
        tables = [
            colour_rule(self.chunks.colour_chunks, engine, depth=self.header.bit_depth)[0]
            for engine in ENGINES
        ]
        drawn = [np.arange(256) if t is None else t for t in tables]  # None: as stored
        return any(not np.array_equal(t, drawn[0]) for t in drawn[1:])

    def red_blocks(
        self,
        decoder: Decoder = "auto",
        tally: _Tally | None = None,
        draw_rows: int = DRAW_ROWS,
    ) -> Iterator[U8]:
        """Yield ``(k, width)`` uint8 blocks of the red channel, top to bottom."""
        return self.canvas_blocks(decoder, tally, draw_rows, rgb=False)

    def canvas_blocks(
        self,
        decoder: Decoder = "auto",
        tally: _Tally | None = None,
        draw_rows: int = DRAW_ROWS,
        *,
        rgb: bool = False,
        engine: str = DEFAULT_ENGINE,
    ) -> Iterator[U8]:
        """Yield uint8 blocks of rows, top to bottom: ``(k, width)`` red, or with ``rgb``
        ``(k, width * 3)`` red, green, blue for each pixel in turn (ImageData's order).

        The values are the ones ``getImageData`` returns in ``engine`` (canvas.ENGINES) when
        the sprite is drawn ``draw_rows`` rows at a time onto one canvas (as data.js does);
        that matters only for a sprite whose pixels are not all opaque.
        """
        h = self.header
        self._rgb = rgb
        self._engine = check_engine(engine)
        self._gamma, _ = colour_rule(
            self.chunks.colour_chunks, self._engine, depth=h.bit_depth, alpha=self.has_alpha
        )
        colours = 3 if rgb else 1
        canvas = Canvas(h.width, h.height, draw_rows, colours, engine) if self.has_alpha else None
        if decoder == "pypng":
            blocks = self._pixel_blocks_pypng()
        elif self.header.interlace:
            blocks = self._pixel_blocks_interlaced(tally)
        else:
            blocks = self._pixel_blocks(tally)
        for colour, alpha in blocks:
            out = colour if canvas is None else canvas.draw(colour, alpha)
            yield out.reshape(out.shape[0], -1) if rgb else out

    def image(self, engine: str = DEFAULT_ENGINE) -> tuple[U8, U8 | None]:
        """The whole image as ``engine`` hands it to a canvas, before any compositing:
        ``(height, width)`` gray (gray colour types) or ``(height, width, 3)`` RGB (colour
        types, palettes), and its ``(height, width)`` alpha (None when every pixel is opaque).
        A colour correction the engine makes that this tool does not reproduce is refused."""
        h = self.header
        self._rgb = h.color_type in (2, 3, 6)
        self._engine = check_engine(engine)
        self._gamma, warning = colour_rule(
            self.chunks.colour_chunks, self._engine, depth=h.bit_depth, alpha=self.has_alpha
        )
        if warning is not None:
            raise self.chunks.fail(
                warning, "save the image without its colour chunks (an sRGB PNG), or convert "
                "it to sRGB first",
            )  # fmt: skip
        blocks = self._pixel_blocks_interlaced(None) if h.interlace else self._pixel_blocks(None)
        colours, alphas = [], []
        for colour, alpha in blocks:
            colours.append(colour)
            alphas.append(alpha)
        whole: U8 = np.concatenate(colours).reshape(h.height, h.width, *((3,) if self._rgb else ()))
        if all(a is None for a in alphas):
            return whole, None
        opaque = np.full((h.height, h.width), 255, np.uint8)
        start = 0
        for colour, alpha in zip(colours, alphas, strict=True):
            if alpha is not None:
                opaque[start : start + colour.shape[0]] = alpha
            start += colour.shape[0]
        return whole, opaque

    def stored(self) -> U8:
        """The whole image's samples as stored, no canvas: ``(height, width)`` for 8-bit gray,
        ``(height, width, 3)`` for 8-bit RGB (what :mod:`.memory` takes)."""
        h = self.header
        assert h.bit_depth == 8 and h.color_type in (0, 2) and not h.interlace
        self._rgb, self._gamma = h.color_type == 2, None
        rows = np.concatenate([colour for colour, _ in self._pixel_blocks(None)])
        return rows.reshape(h.height, h.width, 3) if self._rgb else rows

    def _pixel_blocks(self, tally: _Tally | None) -> Iterator[tuple[U8, U8 | None]]:
        prev = np.zeros(self.header.row_bytes(self.header.width), dtype=np.uint8)
        for _, block in self.scanline_blocks(tally):
            rows = unfilter_block(block, prev, self.header.filter_unit)
            prev = rows[-1]
            yield self._pixels(rows, self.header.width)

    def pixels_sha256(self, decoder: Decoder = "auto") -> str:
        """Decode the whole image; sha256 of its red channel, ``(height, width)`` uint8, C order."""
        return self.survey(decoder).pixels_sha256

    def survey(self, decoder: Decoder = "auto") -> Survey:
        """Decode the whole image once; its pixel digest, filters and chunks."""
        digest = hashlib.sha256()
        tally = _Tally()
        for block in self.red_blocks(decoder, tally):
            digest.update(np.ascontiguousarray(block).data)
        if decoder == "pypng":  # pypng's rows carry no filter bytes: count them from ours
            tally = _Tally()
            for _ in self.scanline_blocks(tally):
                pass
        return Survey(
            pixels_sha256=digest.hexdigest(),
            filters=dict(zip(FILTER_NAMES, tally.filters, strict=True)),
            chunks=dict(sorted(self.chunks.counts.items())),
            idat_bytes=self.chunks.idat_bytes,
            file_bytes=self.chunks.file_bytes,
        )

    def _pixel_blocks_interlaced(self, tally: _Tally | None) -> Iterator[tuple[U8, U8 | None]]:
        h = self.header
        red = np.empty((h.height, h.width, *((3,) if self._rgb else ())), dtype=np.uint8)
        alpha = np.full((h.height, h.width), 255, dtype=np.uint8) if self.has_alpha else None
        passes = h.passes()
        prev: U8 | None = None
        current = -1
        filled = 0
        for index, block in self.scanline_blocks(tally):
            x0, y0, dx, dy, w, _ = passes[index]
            if index != current:
                current, filled = index, 0
                prev = np.zeros(h.row_bytes(w), dtype=np.uint8)
            assert prev is not None
            rows = unfilter_block(block, prev, h.filter_unit)
            prev = rows[-1]
            k = rows.shape[0]
            ys = slice(y0 + filled * dy, y0 + (filled + k) * dy, dy)
            red[ys, x0::dx], pass_alpha = self._pixels(rows, w)
            if alpha is not None and pass_alpha is not None:
                alpha[ys, x0::dx] = pass_alpha
            filled += k
        yield from _blocks_of(red, alpha)

    def _pixels(self, rows: U8, width: int) -> tuple[U8, U8 | None]:
        """Reconstructed scanlines -> (red, alpha) of each pixel; alpha None when all opaque."""
        h = self.header
        k = rows.shape[0]
        if h.bit_depth == 16:
            pairs = rows.reshape(k, width * h.channels, 2)
            wide = pairs[:, :, 0].astype(np.uint16)
            wide <<= 8
            wide |= pairs[:, :, 1]
            samples: npt.NDArray[np.unsignedinteger[Any]] = wide
        elif h.bit_depth < 8:
            samples = _unpack(rows, h.bit_depth, width)
        else:
            samples = rows
        return self._reduce(samples)

    def _reduce(self, samples: npt.NDArray[np.unsignedinteger[Any]]) -> tuple[U8, U8 | None]:
        """``(k, width * channels)`` samples at the file's bit depth -> ``(k, width)`` red and
        alpha (None when every pixel is opaque).

        Gray for grayscale, red for RGB, the palette entry's red; 16-bit samples keep their
        high byte and fewer bits scale to 0..255 exactly. Alpha is the alpha channel, a
        palette entry's tRNS alpha, or 0 for tRNS's transparent colour.
        """
        h = self.header
        c, depth, ct = h.channels, h.bit_depth, h.color_type
        k = samples.shape[0]
        alpha: U8 | None = None
        if ct == 3:
            red = self._palette_colour(samples)
            if self.chunks.transparency is not None:
                entry_alpha = np.full(256, 255, dtype=np.uint8)
                trns = np.frombuffer(self.chunks.transparency, dtype=np.uint8)
                entry_alpha[: trns.size] = trns
                alpha = entry_alpha[samples]
        else:
            if ct in (2, 6) and self._rgb:  # red, green and blue of each pixel
                red = _to8(samples.reshape(k, -1, c)[:, :, :3], depth, self._engine)
            else:
                if ct in (2, 6) and not self.colours_differ:
                    pixels = samples.reshape(k, -1, c)
                    self.colours_differ = bool(
                        (pixels[:, :, 1] != pixels[:, :, 0]).any()
                        or (pixels[:, :, 2] != pixels[:, :, 0]).any()
                    )
                red = _to8(samples[:, ::c] if c > 1 else samples, depth, self._engine)
                if self._rgb:  # gray: the canvas gives red = green = blue
                    red = np.repeat(red[:, :, None], 3, axis=2)
            if ct in (4, 6):
                alpha = _to8(samples[:, c - 1 :: c], depth, self._engine)
            elif self.chunks.transparency is not None:  # one colour is fully transparent
                key = np.frombuffer(self.chunks.transparency, dtype=">u2").astype(samples.dtype)
                hit = samples == key[0] if c == 1 else _rgb_equal(samples, key)
                if hit.any():
                    alpha = np.where(hit, np.uint8(0), np.uint8(255))
        if self._gamma is not None:  # the engine's gAMA correction (opaque, 8 bits or fewer)
            red = self._gamma[red]
        return np.ascontiguousarray(red), alpha

    def _palette_colour(self, indices: npt.NDArray[np.unsignedinteger[Any]]) -> U8:
        """The palette entries' red (or red, green and blue) for these indices."""
        palette = self.chunks.palette
        assert palette is not None
        n = palette.shape[0]
        if n < 256 and int(indices.max(initial=0)) >= n:
            raise self.chunks.fail(
                f"a pixel uses palette index {int(indices.max())}, past its {n} entries"
            )
        if not self._rgb and not self.colours_differ:
            grey = (palette[:, 1] == palette[:, 0]) & (palette[:, 2] == palette[:, 0])
            self.colours_differ = not grey.all() and not grey[indices].all()
        colour: U8 = palette[indices] if self._rgb else palette[:, 0][indices]
        return colour

    def _pixel_blocks_pypng(self) -> Iterator[tuple[U8, U8 | None]]:
        """pypng's reader, after our own walk of the whole file has passed."""
        for _ in self.scanline_blocks():
            pass
        import png  # pypng, imported here: only this path needs it at run time

        h = self.header
        wanted = np.uint16 if h.bit_depth == 16 else np.uint8
        red = np.empty((h.height, h.width, *((3,) if self._rgb else ())), dtype=np.uint8)
        alpha = np.full((h.height, h.width), 255, dtype=np.uint8) if self.has_alpha else None
        n = 0
        try:
            with open(self.path, "rb") as f:
                _, height, rows, _info = png.Reader(file=f).read()
                for n, row in enumerate(rows, 1):
                    row_red, row_alpha = self._reduce(np.asarray(row, dtype=wanted)[None, :])
                    red[n - 1] = row_red[0]
                    if alpha is not None and row_alpha is not None:
                        alpha[n - 1] = row_alpha[0]
        except (png.Error, ValueError) as e:  # pypng's own refusal
            raise self.chunks.fail(f"pypng refused it: {e}") from None
        if n != height:
            raise self.chunks.fail(f"pypng returned {n} of {height} rows")
        yield from _blocks_of(red, alpha)


def _to8(
    samples: npt.NDArray[np.unsignedinteger[Any]], depth: int, engine: str = DEFAULT_ENGINE
) -> U8:
    """Samples of ``depth`` bits as 0..255: exact scaling below 8 bits; 16 bits as the engine
    reduces them (canvas.sixteen_to_eight)."""
    if depth == 16:
        return sixteen_to_eight(samples, engine)
    if depth < 8:
        scaled: U8 = samples.astype(np.uint8) * np.uint8(255 // ((1 << depth) - 1))
        return scaled
    return samples.astype(np.uint8, copy=False)


def _rgb_equal(
    samples: npt.NDArray[np.unsignedinteger[Any]], key: npt.NDArray[np.unsignedinteger[Any]]
) -> npt.NDArray[np.bool_]:
    k = samples.shape[0]
    rgb = samples.reshape(k, -1, 3)
    hit: npt.NDArray[np.bool_] = (rgb == key[None, None, :]).all(axis=2)
    return hit


class _Inflater:
    """The IDAT zlib stream, inflated only as far as asked (a bomb cannot run ahead)."""

    def __init__(self, pieces: Iterator[bytes], fail: Callable[[str], PngFormatError]) -> None:
        self._pieces = pieces
        self._fail = fail
        self._z = zlib.decompressobj()
        self._tail = b""

    def _next_input(self) -> bytes | None:
        if self._tail:
            return self._tail
        return next(self._pieces, None)

    def _inflate(self, data: bytes, limit: int) -> bytes:
        try:
            out = self._z.decompress(data, limit)
        except zlib.error as e:
            raise self._fail(f"corrupt image data (zlib: {e})") from None
        self._tail = self._z.unconsumed_tail
        return out

    def read(self, n: int, rows_done: int, total_rows: int, row_len: int) -> bytes:
        """Exactly ``n`` more inflated bytes, or an error naming how far the data went."""
        parts: list[bytes] = []
        need = n
        while need:
            whole_rows = rows_done + (n - need) // row_len
            if self._z.eof:
                raise self._short(whole_rows, total_rows)
            data = self._next_input()
            # With no input left, flush what the output limit held back, if anything.
            out = self._inflate(b"" if data is None else data, need)
            if not out and data is None:
                raise self._short(whole_rows, total_rows)
            parts.append(out)
            need -= len(out)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _short(self, rows_done: int, total_rows: int) -> PngFormatError:
        if self._z.eof:
            return self._fail(
                f"too few rows: the image data ends after {rows_done} of {total_rows} rows"
            )
        return self._fail("truncated image data: the zlib stream ends early")

    def finish(self) -> None:
        """The stream must end exactly here: no more pixels, then a proper zlib end."""
        while not self._z.eof:
            data = self._next_input()
            if self._inflate(b"" if data is None else data, 1):
                raise self._fail("extra data after the last row of the image")
            if data is None:
                raise self._fail("truncated image data: the zlib stream has no end")
        if self._z.unused_data or self._tail or any(self._pieces):
            raise self._fail("extra data after the end of the zlib stream")


def _unpack(rows: U8, depth: int, width: int) -> U8:
    """Split bytes of 1-, 2- or 4-bit samples into one byte each (section 7.2: big end first)."""
    k = rows.shape[0]
    if depth == 1:
        bits: U8 = np.unpackbits(rows, axis=1)[:, :width]
        return bits
    per = 8 // depth
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)
    mask = np.uint8((1 << depth) - 1)
    out: U8 = ((rows[:, :, None] >> shifts) & mask).reshape(k, rows.shape[1] * per)
    return out[:, :width]


def _blocks_of(red: U8, alpha: U8 | None, rows: int = 4096) -> Iterator[tuple[U8, U8 | None]]:
    for start in range(0, red.shape[0], rows):
        part = slice(start, start + rows)
        yield red[part], None if alpha is None else alpha[part]


def read_red(path: PathLike, decoder: Decoder = "auto") -> U8:
    """The whole image's red channel as a ``(height, width)`` uint8 array."""
    with PngFile(path) as png_file:
        out = np.empty((png_file.header.height, png_file.header.width), dtype=np.uint8)
        row = 0
        for block in png_file.red_blocks(decoder):
            out[row : row + block.shape[0]] = block
            row += block.shape[0]
    return out


def read_image(path: PathLike) -> U8:
    """One image as the canvas gives it: ``(height, width)`` for gray, ``(height, width, 3)``
    for colour (RGB, palette) PNGs."""
    with PngFile(path) as png_file:
        h = png_file.header
        rgb = h.color_type in (2, 3, 6)
        rows = np.concatenate(list(png_file.canvas_blocks(rgb=rgb)))
    return rows.reshape(h.height, h.width, 3) if rgb else rows


def pixels_sha256(path: PathLike, decoder: Decoder = "auto") -> str:
    """sha256 of the decoded red channel, ``(height, width)`` uint8 in C order."""
    with PngFile(path) as png_file:
        return png_file.pixels_sha256(decoder)
