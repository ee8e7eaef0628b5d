"""The one deflate engine: raw deflate (RFC 1951) of a byte stream, in parallel pieces.

Every compressed byte the tool writes comes from here: PNG's IDAT stream (zlib, RFC 1950),
the gzip members of ``--format idx --compress`` (RFC 1952) and the zip members of npz
``--compress``. The wrappers (headers, adler32 / CRC-32, sizes) belong to their formats.

As pigz does: the stream is cut into pieces of ``piece_bytes`` at fixed offsets of the stream,
whatever blocks the bytes arrive in. Each piece is deflated on its own, primed with the 32 KiB
that precede it (``zdict``), so back-references still reach into the previous piece as they
would in one long stream. Every piece but the last ends with a sync flush (an empty stored
block), which leaves it byte-aligned, so the pieces concatenate into one ordinary deflate
stream; the last ends the stream (BFINAL). The output depends only on the bytes, ``level`` and
``piece_bytes``: the same for any number of workers and any split of the input into calls.
zlib releases the GIL while it compresses, so pieces deflated in threads run in parallel.

With ``strategy=AUTO`` each piece chooses its own strategy from its first
:data:`SAMPLE_BYTES`: they are deflated both with zlib's default strategy and with ``Z_RLE``
(matches at distance 1 only, which is all that runs of equal bytes, such as the zeros around a
digit, need, at a quarter of the work), and ``Z_RLE`` deflates the piece when its sample is at
most :data:`RLE_SLACK` larger. The choice depends only on the piece and the bytes before it.
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a pool starts: a command that deflates nothing pays nothing
    from concurrent.futures import Future, ThreadPoolExecutor

# Bytes deflated per task. Each piece costs a flush and a fresh Huffman block, and only sees
# 32 KiB back: at 1 MiB that is about 0.1% on the MNIST sprite; memory stays a few MiB.
PIECE_BYTES = 1 << 20
WINDOW = 1 << 15  # deflate's window (RFC 1951 section 2): all a piece can refer back to
# zlib's hash table size. 9, its largest: on the PNG sprite's pieces at level 6, 12 kB (0.1%)
# smaller than 8, for about 20% more CPU (1.05 s against 0.88 s in one thread), which the
# sprite's published size takes. 8, zlib's default (as gzip and numpy use): on MNIST's float32
# npz members 0.05% larger than 9 for about 10% less CPU.
MEM_LEVEL = 9
DEFAULT_MEM_LEVEL = 8
# Z_RLE is taken when its sample is at most 4% larger than the default strategy's. On the MNIST
# sprite (65,000 x 785 filtered bytes, level 6, memory level 9, one thread), Z_RLE on every piece
# writes 10,642,404 bytes in 0.25 s of CPU, against 10,625,661 in 1.08 s: 0.16% larger for a
# quarter of the work, and below the official file's 10,689,542. MNIST's 55,000 train images as
# IDX: 9,015,389 against 9,003,126 bytes (163.9 bytes an image; MNIST's own .gz, 165.2). Pixels
# that vary, such as float32 values or photographs, make Z_RLE far larger (5.3 MB against 2.6
# MB for 10,000 float32 MNIST images), and their samples keep the default. The slack is for the
# sample's noise: on the sprite, 64 KiB samples range from 2% smaller to 3.3% larger with Z_RLE
# (median 1.000), where whole pieces differ by 0.16%.
AUTO = -1
SAMPLE_BYTES = 1 << 16
RLE_SLACK = 0.04
# A default level that keeps every file at or below the size its usual tool makes: MNIST's
# own .gz files (gzip -9 of 1998's gzip) and numpy's savez_compressed (zlib level 6).
DEFAULT_LEVEL = 6


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def deflate_piece(
    piece: bytes,
    dictionary: bytes,
    level: int,
    last: bool,
    strategy: int = zlib.Z_DEFAULT_STRATEGY,
    mem_level: int = MEM_LEVEL,
) -> bytes:
    """One piece as raw deflate, primed with ``dictionary``; byte-aligned unless ``last``."""
    if strategy == AUTO:
        strategy = _sampled_strategy(piece[:SAMPLE_BYTES], dictionary, level, mem_level)
    args = (level, zlib.DEFLATED, -15, mem_level, strategy)
    z = zlib.compressobj(*args, zdict=dictionary) if dictionary else zlib.compressobj(*args)
    return z.compress(piece) + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _sampled_strategy(sample: bytes, dictionary: bytes, level: int, mem_level: int) -> int:
    """Z_RLE if it deflates ``sample`` to at most RLE_SLACK more than the default strategy."""
    default = deflate_piece(sample, dictionary, level, False, zlib.Z_DEFAULT_STRATEGY, mem_level)
    rle = deflate_piece(sample, dictionary, level, False, zlib.Z_RLE, mem_level)
    return zlib.Z_RLE if len(rle) <= len(default) * (1 + RLE_SLACK) else zlib.Z_DEFAULT_STRATEGY


class Deflater:
    """A raw deflate stream with zlib's ``compressobj`` interface: ``compress`` returns the
    compressed bytes that are ready (in order), ``flush`` the rest, ending the stream.

    ``workers`` threads deflate pieces in parallel (at most ``2 * workers`` pieces in flight,
    so memory stays a few pieces); with 1, no thread is started. ``strategy`` and
    ``mem_level`` are zlib's (``zlib.Z_FILTERED`` suits near-random bytes such as label
    digits), or ``AUTO``: each piece's own choice. ``close`` drops queued work
    (after a failure); ``flush`` closes too.
    """

    def __init__(
        self,
        level: int = DEFAULT_LEVEL,
        *,
        workers: int | None = None,
        piece_bytes: int = PIECE_BYTES,
        strategy: int = zlib.Z_DEFAULT_STRATEGY,
        mem_level: int = MEM_LEVEL,
    ) -> None:
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
            raise ValueError(f"level must be from 0 to 9, not {level!r}")
        if not isinstance(piece_bytes, int) or not 1 <= piece_bytes <= 1 << 30:
            raise ValueError(f"piece_bytes must be from 1 to 2**30, not {piece_bytes!r}")
        if strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be a zlib Z_ strategy or AUTO, not {strategy!r}")
        self.level = level
        self.strategy = strategy
        self.mem_level = mem_level
        self.workers = available_cores() if workers is None else workers
        if isinstance(self.workers, bool) or not 1 <= self.workers <= 1024:
            raise ValueError(f"workers must be from 1 to 1024, not {workers!r}")
        self._piece = piece_bytes
        self._pending = bytearray()
        self._history = b""
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: deque[bytes | Future[bytes]] = deque()  # bytes: deflated here
        self._finished = False

    def compress(self, data: Any) -> bytes:
        """Take ``data`` (any bytes-like object); return the deflated bytes ready so far."""
        if self._finished:
            raise ValueError("the deflate stream is already finished")
        with memoryview(data) as view:
            self._pending += view.cast("B")
        out: list[bytes] = []
        # A piece is cut only when more bytes follow it, so the last piece, which ends the
        # stream, is always the one still pending at flush().
        start = 0
        with memoryview(self._pending) as pending:  # one copy per piece, not two
            while len(pending) - start > self._piece:
                piece = bytes(pending[start : start + self._piece])
                start += self._piece
                self._submit(piece, last=False)
                out += self._ready(block=len(self._in_flight) >= 2 * self.workers)
        if start:
            del self._pending[:start]
        out += self._ready(block=False)
        return b"".join(out)

    def flush(self) -> bytes:
        """The rest of the stream, ending it; the pool is shut down."""
        if self._finished:
            raise ValueError("the deflate stream is already finished")
        self._submit(bytes(self._pending), last=True)
        self._pending = bytearray()
        out = self._ready(block=True, everything=True)
        self.close()
        return b"".join(out)

    def close(self) -> None:
        """Stop: drop queued pieces and shut the pool down (no more output)."""
        self._finished = True
        for future in self._in_flight:
            if not isinstance(future, bytes):
                future.cancel()
        self._in_flight.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _submit(self, piece: bytes, *, last: bool) -> None:
        dictionary = self._history
        self._history = _tail(self._history, piece)
        if self.workers == 1 or (last and not self._in_flight and self._pool is None):
            # one piece, or one worker: no thread
            self._in_flight.append(
                deflate_piece(piece, dictionary, self.level, last, self.strategy, self.mem_level)
            )
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="deflate")
        args = (piece, dictionary, self.level, last, self.strategy, self.mem_level)
        self._in_flight.append(self._pool.submit(deflate_piece, *args))

    def _ready(self, *, block: bool, everything: bool = False) -> list[bytes]:
        """Deflated pieces in order: those done, the oldest if ``block``, all if ``everything``."""
        out = []
        while self._in_flight:
            first = self._in_flight[0]
            done = isinstance(first, bytes) or first.done()
            if not (done or everything or block):
                break
            self._in_flight.popleft()
            out.append(first if isinstance(first, bytes) else first.result())
            block = False
        return out


_STRATEGIES = frozenset(
    (AUTO, zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE, zlib.Z_FIXED)
)


def _tail(history: bytes, piece: bytes) -> bytes:
    """The last 32 KiB of ``history + piece``, without copying a long piece twice."""
    if len(piece) >= WINDOW:
        return piece[-WINDOW:]
    return (history + piece)[-WINDOW:]


def deflate(data: Any, level: int = DEFAULT_LEVEL, *, workers: int | None = None) -> bytes:
    """All of ``data`` as one raw deflate stream."""
    d = Deflater(level, workers=workers)
    return d.compress(data) + d.flush()
