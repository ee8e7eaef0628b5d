"""Undoing PNG row filters (PNG spec section 9) on blocks of scanlines with numpy.

A filtered byte is ``Filt(x)``; reconstruction adds a predictor back (section 9.2):

- None and Sub rows do not depend on the row above: Sub is a running sum along the row
  (numpy's uint8 cumulative sum wraps mod 256, as the spec's arithmetic does), so every such
  row of a block is done at once.
- An Up row is one vector add once the row above is known.
- Average and Paeth need the reconstructed byte to the left *and* the row above, so no row can
  be vectorised on its own. Rows are treated as lanes of a wavefront instead: a dependent row
  starts one step after the row above it, so pixel ``p`` of a row at chain depth ``j`` is
  computed at step ``p + j``. Stored skewed (step-major), each step reads contiguous slices
  and computes every lane at once; independent rows (None, Sub, Up runs) are fixed lanes,
  so any mix of filters is one wavefront of ``pixels + longest chain`` steps.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

U8 = npt.NDArray[np.uint8]
I16 = npt.NDArray[np.int16]
NONE, SUB, UP, AVERAGE, PAETH = range(5)


# A run of this many Average or Paeth rows goes through _chain; shorter runs and mixed runs
# are batched as lanes of one wavefront.
_LONG = 48


@lru_cache(maxsize=1)
def _paeth_table() -> npt.NDArray[np.int32]:
    """``PaethPredictor(a, b, c) - c`` at index ``511 * a + b - 512 * c`` (negative indices
    count from the end, as numpy's indexing does): the one Paeth table.

    Section 9.4: with ``p = a + b - c``, ``|p - a| = |b - c|``, ``|p - b| = |a - c|`` and
    ``|p - c| = |a + b - 2c|``, so the choice depends only on ``da = a - c`` and
    ``db = b - c``, and ``511 * a + b - 512 * c == 511 * da + db`` is unique for each pair.
    """
    da = np.arange(-255, 256, dtype=np.int32)[:, None]
    db = np.arange(-255, 256, dtype=np.int32)[None, :]
    pa, pb, pc = np.abs(db), np.abs(da), np.abs(da + db)
    offset = np.where((pa <= pb) & (pa <= pc), da, np.where(pb <= pc, db, 0))
    table = np.empty(511 * 511, dtype=np.int32)
    table[(511 * da + db).reshape(-1)] = offset.reshape(-1)
    return table


def _paeth_key(a: I16, b: I16, c: I16) -> npt.NDArray[np.int32]:
    """The index of :func:`_paeth_table` for pixels ``a`` (left), ``b`` (above), ``c``."""
    key: npt.NDArray[np.int32] = np.multiply(a, 511, dtype=np.int32)
    key += b
    key -= np.multiply(c, 512, dtype=np.int32)
    return key


def unfilter_block(block: U8, prev: U8, bpp: int) -> U8:
    """Reconstruct a block of filtered scanlines.

    ``block`` is ``(k, 1 + stride)`` uint8: each row is a filter-type byte (0..4, already
    checked by the caller) followed by ``stride`` filtered bytes. ``prev`` is the ``(stride,)``
    reconstructed scanline just above the block (zeros at the top of an image or an Adam7
    pass). ``bpp`` is the filter unit in bytes (section 9.2: bytes per complete pixel,
    rounded up to 1). Returns the ``(k, stride)`` reconstructed scanlines.
    """
    k = block.shape[0]
    stride = block.shape[1] - 1
    types = block[:, 0]
    data = block[:, 1:]
    out = np.empty((k, stride), dtype=np.uint8)
    if stride == 0:
        return out
    none = types == NONE
    out[none] = data[none]
    sub = np.flatnonzero(types == SUB)
    if sub.size:
        out[sub] = _sub_rows(data[sub], bpp)
    if (types >= UP).any():
        _dependent_rows(out, data, types, prev, bpp)
    return out


def _sub_rows(rows: U8, bpp: int) -> U8:
    """Section 9.3, Sub: a running sum along each row, one pixel (``bpp`` bytes) apart."""
    n, stride = rows.shape
    if n < 256:  # few rows: numpy's cumulative sum (its uint8 sum wraps mod 256)
        runs = rows.reshape(n, -1, bpp)
        return np.cumsum(runs, axis=1, dtype=np.uint8).reshape(n, stride)
    # Many rows: add column after column, each a vector over all rows (twice as fast).
    for col in range(bpp, stride, bpp):
        cur = rows[:, col : col + bpp]
        np.add(cur, rows[:, col - bpp : col], out=cur)
    return rows


def _dependent_rows(out: U8, data: U8, types: U8, prev: U8, bpp: int) -> None:
    """Fill the Up, Average and Paeth rows of ``out`` (None and Sub rows are already there)."""
    k = types.shape[0]
    dependent = types >= UP
    # Runs of dependent rows; the row above a run's first row (or ``prev``) is its head.
    edges = np.diff(np.concatenate(([0], dependent.view(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    wave = np.zeros(k, dtype=bool)
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=False):
        # A run's leading Up rows need only the row above: each is one vector add.
        rest = np.flatnonzero(types[start:stop] != UP)
        ups = stop - start if rest.size == 0 else int(rest[0])
        above = out[start - 1] if start else prev
        for r in range(start, start + ups):  # Up: one vector add per row
            np.add(data[r], above, out=out[r])
            above = out[r]
        first = start + ups
        kinds = types[first:stop]
        if stop - first >= _LONG and (kinds == kinds[0]).all():
            head = out[first - 1] if first else prev
            out[first:stop] = _chain(head, data[first:stop], int(kinds[0]), bpp)
        else:
            wave[first:stop] = True
    if wave.any():
        _wavefront(out, data, types, prev, bpp, wave)


def _chain(head: U8, rows: U8, kind: int, bpp: int) -> U8:
    """One run of ``m`` rows that all use Average or all use Paeth, under the row ``head``.

    Row ``j`` (1..m; 0 is the head) reaches pixel ``p`` at step ``s = p + j + 1``. A step
    needs only the two steps before it, so those live in a rolling buffer indexed by row:
    every operand is then a contiguous slice. The filtered bytes are read, and the results
    written, through strided views of the row-major arrays (an anti-diagonal of a row-major
    array is a regular stride), so nothing is copied into skewed form. Arithmetic is int32 so
    no ufunc casts.
    """
    m, stride = rows.shape
    width = stride // bpp
    rowlen = stride + bpp
    result = np.zeros((m, rowlen), dtype=np.uint8)
    filtered = np.zeros((m, rowlen), dtype=np.int32)  # a zero pixel left of each row
    filtered[:, bpp:] = rows
    item = filtered.itemsize
    # out[t, i, q]: byte q of pixel t - i of row i + 1; filt[t, i, q]: its filtered byte is
    # at filt[t + 1, i, q].
    out = as_strided(
        result[:, bpp:], (width + m - 1, m, bpp), (bpp, rowlen - bpp, 1), writeable=True
    )
    filt = as_strided(
        filtered, (width + m, m, bpp), (bpp * item, (rowlen - bpp) * item, item), writeable=False
    )
    roll = np.zeros((3, m + 1, bpp), dtype=np.int32)  # steps s, s-1, s-2 of rows 0..m
    above = head.astype(np.int32).reshape(width, bpp)
    if bpp == 1:
        out, filt, roll, above = out[:, :, 0], filt[:, :, 0], roll[:, :, 0], above[:, 0]
    n_max = min(m, width)
    wide = np.empty((n_max, bpp) if bpp > 1 else n_max, dtype=np.int32)
    wide2 = np.empty_like(wide)
    table = _paeth_table() if kind == PAETH else None
    for s in range(2, width + m + 1):
        lo = max(1, s - width)
        hi = min(m, s - 1) + 1
        n = hi - lo
        now, before = roll[s % 3], roll[(s - 1) % 3]
        if s - 1 <= width:  # the head row is row 0: its pixel s - 2 belongs to step s - 1
            before[0] = above[s - 2]
        a = before[lo:hi]
        b = before[lo - 1 : hi - 1]
        w = wide[:n]
        if table is None:  # Average (section 9.3)
            np.add(a, b, out=w)
            np.right_shift(w, 1, out=w)
        else:  # Paeth (section 9.4), through the table
            c = roll[(s - 2) % 3][lo - 1 : hi - 1]
            w2 = wide2[:n]
            np.multiply(a, 511, out=w)
            np.add(w, b, out=w)
            np.left_shift(c, 9, out=w2)
            np.subtract(w, w2, out=w)
            np.take(table, w, out=w)
            np.add(w, c, out=w)
        np.add(w, filt[s - 1, lo - 1 : hi - 1], out=w)
        x = now[lo:hi]
        np.bitwise_and(w, 0xFF, out=x)
        out[s - 2, lo - 1 : hi - 1] = x
    return result[:, bpp:]


def _wavefront(
    out: U8, data: U8, types: U8, prev: U8, bpp: int, wave: npt.NDArray[np.bool_]
) -> None:
    """Reconstruct the rows marked in ``wave`` (each has its row above already in ``out``, or
    is itself in ``wave``) by computing one pixel of every such row per step."""
    k, stride = data.shape
    width = stride // bpp
    # Lane 0 is ``prev``; lane r + 1 is row r. depth[lane] is its distance down a chain of
    # wave rows: 0 for a fixed row, depth of the lane above + 1 for a wave row.
    lanes = k + 1
    in_wave = np.concatenate(([False], wave))
    index = np.arange(lanes)
    depth = index - np.maximum.accumulate(np.where(in_wave, 0, index))
    top = int(depth.max())
    steps = width + top + 1
    # skew[s, lane * bpp + q] holds byte q of pixel s - depth[lane] - 1 of that lane; step 0
    # and the steps before a lane starts stay zero: the spec's bytes left of the first pixel.
    skew = np.zeros((steps, lanes * bpp), dtype=np.int16)
    filt = np.zeros((steps, lanes * bpp), dtype=np.uint8)
    fixed = np.flatnonzero(~in_wave)
    rows_of = np.concatenate((prev[None, :], out))
    cube = skew[1 : width + 1].reshape(width, lanes, bpp)
    cube[:, fixed, :] = rows_of[fixed].reshape(fixed.size, width, bpp).transpose(1, 0, 2)
    moving = np.flatnonzero(in_wave)
    _scatter_skewed(filt, data[moving - 1], moving, depth[moving], bpp, width)

    kinds = []
    for kind in (UP, AVERAGE, PAETH):
        mine = moving[types[moving - 1] == kind]
        if mine.size == 0:
            continue
        order = np.argsort(depth[mine], kind="stable")
        mine, d = mine[order], depth[mine][order]
        byte_lanes = (mine[:, None] * bpp + np.arange(bpp)).reshape(-1)
        d_bytes = np.repeat(d, bpp)
        at = np.arange(steps)
        lo = np.searchsorted(d_bytes, at - width, side="left")
        hi = np.searchsorted(d_bytes, at - 1, side="right")
        contiguous = bool(np.all(np.diff(byte_lanes) == 1))
        kinds.append((kind, byte_lanes, lo.tolist(), hi.tolist(), contiguous))

    table = _paeth_table()
    for s in range(2, steps):
        now, left_row, corner_row = skew[s], skew[s - 1], skew[s - 2]
        fnow = filt[s]
        for kind, byte_lanes, lo, hi, contiguous in kinds:
            a0, a1 = lo[s], hi[s]
            if a0 >= a1:
                continue
            sel: slice | npt.NDArray[np.intp]
            up: slice | npt.NDArray[np.intp]
            if contiguous:  # one chain: plain slices, no gather
                first = int(byte_lanes[a0])
                sel, up = slice(first, first + a1 - a0), slice(first - bpp, first - bpp + a1 - a0)
            else:
                sel = byte_lanes[a0:a1]
                up = byte_lanes[a0:a1] - bpp
            b = left_row[up]
            if kind == UP:
                x = fnow[sel] + b
            elif kind == AVERAGE:
                x = fnow[sel] + ((left_row[sel] + b) >> 1)
            else:
                a, c = left_row[sel], corner_row[up]
                x = fnow[sel] + c + table[_paeth_key(a, b, c)]
            now[sel] = x & 0xFF
    rows = moving - 1
    out[rows] = _gather_skewed(skew, moving, depth[moving], bpp, width)


def _positions(
    lanes: npt.NDArray[np.intp], depth: npt.NDArray[np.intp], bpp: int, width: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(step, column) in the skewed arrays of every byte of ``lanes``, shaped (n, width * bpp)."""
    pixel = np.arange(width)
    step = depth[:, None, None] + pixel[None, :, None] + 1
    column = lanes[:, None, None] * bpp + np.arange(bpp)[None, None, :]
    step, column = np.broadcast_arrays(step, column)
    n = lanes.size
    return step.reshape(n, -1), column.reshape(n, -1)


def _scatter_skewed(
    target: U8,
    rows: U8,
    lanes: npt.NDArray[np.intp],
    depth: npt.NDArray[np.intp],
    bpp: int,
    width: int,
) -> None:
    step, column = _positions(lanes, depth, bpp, width)
    target[step, column] = rows


def _gather_skewed(
    skew: I16, lanes: npt.NDArray[np.intp], depth: npt.NDArray[np.intp], bpp: int, width: int
) -> U8:
    step, column = _positions(lanes, depth, bpp, width)
    return skew[step, column].astype(np.uint8)
