"""What a browser's 2D canvas hands back for a PNG pixel: the reference for every value.

TensorFlow.js's loaders draw the sprite with ``drawImage`` and read ``getImageData``. The
canvas stores colour premultiplied by alpha, in 8 bits, and ``getImageData`` divides it out
again, so a pixel with alpha below 255 does not come back with its own red value, and each
engine rounds its own way. Every function here takes ``engine``, one of :data:`ENGINES`
(default ``"chromium"``); each rule was measured in that engine for every value at every alpha
and over three draws of 1,048,576 random pixels (``make browser-check CASES=ci`` checks it
again there; the tables' digests are tests), at the versions in :data:`MEASURED`.

Chromium 156 (headless, software canvas):

- premultiply: ``p = round(r * a / 255)`` (exact integers, half up; Skia's ``SkMulDiv255Round``);
- unpremultiply in float32, in this order: ``clamp((p * f32(1/255)) * (1 / (a * f32(1/255))),
  0, 1) * 255``, rounded half to even; alpha 0 gives 0.

Firefox ESR 153 (``firefox-esr``, headless):

- premultiply: ``p = ceil(r * a / 255)`` (exact integers; Gecko's ``(c * a + 255 + ((c * a +
  255) >> 8)) >> 8``);
- unpremultiply: ``min((p * FIREFOX_RECIPROCAL[a]) >> 16, 255)``: a reciprocal table in 1/65,536
  ths. Its entries are near ``0xFF00FF / a`` but are not any formula we found; each is the
  smallest value that reproduces the 256 measured reds at that alpha, so the table reproduces
  the measured 65,536 exactly, and ``p == a`` can come back as 254.

WebKitGTK 2.50 (MiniBrowser through ``webkit2gtk-driver``) has two canvases, and which one a
canvas is depends on its size (:func:`canvas_rule`): a canvas of at least 16,512 pixels (128 x
129) with no side over 16,384 is drawn on the GPU (Skia's Ganesh on GL; here Mesa's software GL
under Xvfb), any other in Skia's CPU raster (``WEBKIT_DISABLE_COMPOSITING_MODE=1`` puts every
canvas there). Both premultiply ``p = floor(r * a / 255)``; alpha 0 gives 0. Then:

- GPU canvas (``"webkit"``): unpremultiply in float32 ``floor((p * f32(1/255)) / (a *
  f32(1/255)) * 255 + 0.5)``, clamped to 255;
- CPU canvas (``"webkit-cpu"``): unpremultiply as Chromium does (float32, halves to even).

The two differ in 410 of the 65,536 (alpha, red) pairs, each a tie ``p * 255 / a = k + 0.5``
that float32 rounds one way or the other (red 213 at alpha 156: 212 on the CPU, 213 on the GPU).

16-bit samples keep their high byte (``v >> 8``) in Chromium and WebKit, and alpha too; Firefox
rounds them, ``(v + 128) // 257`` (measured for all 65,536 gray values): :func:`sixteen_to_eight`.

TensorFlow.js's ``data.js`` draws the sprite 5,000 rows at a time onto one canvas that it never
clears, so a pixel that is not opaque is composited (source-over) onto the pixel the previous
draw left at that place. Chromium keeps premultiplied 8-bit colour and blends as Skia's
``SkPMSrcOver``: ``p' = P(r, a) + (p * (256 - a) >> 8)``, ``alpha' = a + (alpha * (256 - a) >> 8)``
(measured exact for every channel over three draws of 1,048,576 random pixels). Firefox and
WebKit's CPU canvas blend the same way (Skia), onto their own premultiplied values; WebKit's GPU
canvas keeps ``p' = P(r, a) + div255(p * (255 - a))`` with ``div255(x) = (x + (x >> 8) + 128)
>> 8``, and alpha likewise. :class:`Canvas` carries that state, so every value is the one the
loader reads.

How tall an image each engine draws is in :data:`TALLEST_ROWS`.

Chunks that tell a viewer to change colours are reported by :func:`colour_warning`; the canvas
applies them and this tool does not (see README).
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from ..choices import BROWSERS, DEFAULT_BROWSER, DRAW_ROWS

U8 = npt.NDArray[np.uint8]

# gAMA's value for gamma 1/2.2 (PNG spec 11.3.3.2): the browser treats it as sRGB.
SRGB_GAMMA = 45455

Engine = Literal["chromium", "firefox", "webkit"]
# A canvas's arithmetic: the engine's, and for WebKit which of its two canvases (canvas_rule).
Rule = Literal["chromium", "firefox", "webkit", "webkit-cpu"]
RULES = cast(tuple[Rule, ...], ("chromium", "firefox", "webkit", "webkit-cpu"))
ENGINES = cast(tuple[Engine, ...], BROWSERS)  # the command line's --browser choices
DEFAULT_ENGINE = cast(Engine, DEFAULT_BROWSER)
# The versions every rule and limit here was measured in (Debian 12's packages).
MEASURED: dict[Engine, str] = {
    "chromium": "Chromium 156.0.8078.114 (chromium)",
    "firefox": "Firefox ESR 153.8.0 (firefox-esr)",
    "webkit": "WebKitGTK 2.50.6 (webkit2gtk-driver, MiniBrowser)",
}
# The tallest image each engine draws, in rows (any width tried: 4 pixels). Firefox decodes no
# image of 65,536 rows or more: onload fires, naturalWidth and naturalHeight are 0 and drawImage
# draws nothing, so every value reads as 0, with no error. None: every height tried was drawn
# (up to ROWS_TRIED).
TALLEST_ROWS: dict[Engine, int | None] = {"chromium": None, "firefox": 65_535, "webkit": None}
ROWS_TRIED = 1_000_000

# Firefox's unpremultiply: table[a] in 1/65,536ths; see the module's docstring.
FIREFOX_RECIPROCAL = (
    0,
    16711680,
    8355840,
    5570560,
    4177920,
    3342336,
    2785280,
    2387383,
    2088960,
    1853733,
    1671168,
    1518251,
    1392640,
    1284506,
    1193692,
    1114112,
    1044480,
    983040,
    927587,
    879275,
    835584,
    795171,
    759447,
    726358,
    696320,
    667844,
    642253,
    618660,
    596723,
    576171,
    557056,
    538852,
    522240,
    506415,
    491520,
    477477,
    464214,
    451668,
    439782,
    428505,
    417792,
    407602,
    397898,
    388644,
    379811,
    371371,
    363298,
    355568,
    348160,
    341055,
    334234,
    327680,
    321379,
    315315,
    309476,
    303849,
    298423,
    293188,
    288133,
    283249,
    278528,
    273962,
    269544,
    265265,
    261120,
    257103,
    253208,
    249429,
    245760,
    242199,
    238739,
    235376,
    232107,
    228928,
    225834,
    222823,
    219891,
    217035,
    214253,
    211541,
    208896,
    206318,
    203791,
    201346,
    198949,
    196608,
    194322,
    192057,
    189887,
    187772,
    185686,
    183645,
    181629,
    179696,
    177784,
    175869,
    174080,
    172286,
    170528,
    168805,
    167117,
    165463,
    163840,
    162242,
    160669,
    159159,
    157641,
    156184,
    154720,
    153319,
    151925,
    150556,
    149212,
    147877,
    146576,
    145319,
    144062,
    142820,
    141619,
    140352,
    139264,
    138094,
    136981,
    135851,
    134772,
    133694,
    132615,
    131589,
    130560,
    129548,
    128552,
    127562,
    126591,
    125611,
    124710,
    123791,
    122880,
    121984,
    121086,
    120150,
    119351,
    118511,
    117688,
    116860,
    116054,
    115253,
    114464,
    113685,
    112917,
    112159,
    111366,
    110670,
    109932,
    109083,
    108518,
    107802,
    107127,
    106438,
    105767,
    105094,
    104448,
    103800,
    103159,
    102526,
    101896,
    101245,
    100669,
    100070,
    99466,
    98886,
    98304,
    97723,
    97159,
    96600,
    96038,
    95496,
    94950,
    94409,
    93886,
    93358,
    92812,
    92328,
    91823,
    91314,
    90822,
    90334,
    89848,
    89368,
    88888,
    88422,
    87946,
    87496,
    87040,
    86580,
    86143,
    85675,
    85264,
    84831,
    84396,
    83968,
    83559,
    83143,
    82726,
    82320,
    81920,
    81513,
    81118,
    80727,
    80335,
    79954,
    79557,
    79190,
    78821,
    78455,
    78086,
    77722,
    77365,
    77005,
    76654,
    76303,
    75955,
    75596,
    75278,
    74899,
    74606,
    74255,
    73939,
    73616,
    73292,
    72976,
    72654,
    72341,
    72031,
    71719,
    71414,
    71107,
    70806,
    70510,
    70197,
    69906,
    69632,
    69344,
    69055,
    68767,
    68486,
    68205,
    67928,
    67651,
    67383,
    67112,
    66847,
    66571,
    66312,
    66055,
    65536,
    65536,
)


# WebKitGTK's GPU canvas (measured): at least this many pixels (16,511 and fewer: CPU) ...
WEBKIT_GPU_MIN_AREA = 128 * 129
# ... and no side longer than this (16,385 wide or tall: CPU; the GL's largest texture, so it
# may be larger on a machine with another GPU driver). No largest area found up to 4096 x 4096.
WEBKIT_GPU_MAX_SIDE = 16_384


def canvas_rule(engine: str, width: int | None = None, height: int | None = None) -> Rule:
    """The arithmetic of ``engine``'s canvas ``width`` x ``height`` (data.js's canvas: the
    sprite's width by ``chunkSize`` rows). Only WebKit's depends on the size; with no size,
    WebKit's GPU canvas."""
    name = check_engine(engine)
    if name != "webkit" or width is None or height is None:
        return name
    gpu = width * height >= WEBKIT_GPU_MIN_AREA and max(width, height) <= WEBKIT_GPU_MAX_SIDE
    return "webkit" if gpu else "webkit-cpu"


def check_rule(rule: str) -> Rule:
    """``rule`` when it is one of :data:`RULES` (an engine's name is its default rule)."""
    for name in RULES:
        if rule == name:
            return name
    return check_engine(rule)


def check_engine(engine: str) -> Engine:
    """``engine`` when it is one of :data:`ENGINES`; ValueError otherwise."""
    for name in ENGINES:
        if engine == name:
            return name
    raise ValueError(f"unknown browser engine {engine!r}: one of {', '.join(ENGINES)}")


def engines_that_cannot_draw(height: int) -> list[Engine]:
    """The engines that draw nothing of an image ``height`` rows tall (Firefox past 65,535)."""
    return [e for e in ENGINES if (TALLEST_ROWS[e] or height) < height]


@lru_cache(maxsize=8)
def premultiply_table(engine: str = DEFAULT_ENGINE) -> U8:
    """``table[a, c]``: colour ``c`` at alpha ``a`` as the engine's canvas (or :data:`RULES`'s
    rule) stores it."""
    c = np.arange(256, dtype=np.int64)[None, :]
    a = np.arange(256, dtype=np.int64)[:, None]
    engine = check_rule(engine)
    if engine == "chromium":
        exact = (2 * c * a + 255) // 510  # round(c * a / 255), halves up
    elif engine == "firefox":
        exact = (c * a + 254) // 255  # ceil(c * a / 255)
    else:
        exact = c * a // 255  # floor(c * a / 255)
    table: U8 = exact.astype(np.uint8)
    return table


@lru_cache(maxsize=8)
def unpremultiply_table(engine: str = DEFAULT_ENGINE) -> U8:
    """``table[a, p]``: what ``getImageData`` returns for stored colour ``p`` at alpha ``a``
    (for ``p <= a``, the values a canvas holds; larger ``p`` clamp to 255). ``engine``: an
    engine or one of :data:`RULES`."""
    f32 = np.float32
    p = np.arange(256, dtype=np.int64)[None, :]
    a = np.arange(256, dtype=np.int64)[:, None]
    engine = check_rule(engine)
    table: U8
    if engine == "firefox":
        q = np.array(FIREFOX_RECIPROCAL, dtype=np.int64)[:, None]
        table = np.minimum((p * q) >> 16, 255).astype(np.uint8)
        return table
    alpha = np.maximum(a, 1).astype(f32) * f32(1 / 255)  # row a = 0 is zeroed below
    colour = p.astype(f32) * f32(1 / 255)
    if engine in ("chromium", "webkit-cpu"):
        v = np.clip(colour * (f32(1) / alpha), f32(0), f32(1)) * f32(255)
        table = np.rint(v).astype(np.uint8)  # float32, halves to even
    else:
        v = np.minimum((colour / alpha) * f32(255) + f32(0.5), f32(255))
        table = np.floor(v).astype(np.uint8)
    table[0, :] = 0
    return table


@lru_cache(maxsize=8)
def alpha_table(engine: str = DEFAULT_ENGINE) -> U8:
    """``table[a, r]``: the red a fresh canvas gives back for red ``r`` drawn at alpha ``a``;
    ``engine``: an engine (WebKit: its GPU canvas) or one of :data:`RULES`
    (``alpha_table(canvas_rule(engine, width, height))`` for a canvas of that size)."""
    premul = premultiply_table(engine)
    table: U8 = unpremultiply_table(engine)[np.arange(256)[:, None], premul]
    return table


def sixteen_to_eight(samples: npt.NDArray[np.unsignedinteger[Any]], engine: str) -> U8:
    """16-bit samples as the engine's decoder gives them to the canvas, 0..255."""
    wide = samples.astype(np.uint32)
    if check_engine(engine) == "firefox":
        rounded: U8 = ((wide + 128) // 257).astype(np.uint8)
        return rounded
    high: U8 = (wide >> 8).astype(np.uint8)
    return high


def keep(stored: npt.NDArray[np.integer], alpha: npt.NDArray[np.integer], engine: str) -> U8:
    """What source-over keeps of ``stored`` (premultiplied colour or alpha) under a pixel of
    ``alpha``: Skia's ``(d * (256 - a)) >> 8`` (Chromium, Firefox, WebKit's CPU canvas) or
    WebKit's GPU canvas's ``div255(d * (255 - a))``. ``engine``: an engine or a rule."""
    d = stored.astype(np.uint32)
    if check_rule(engine) == "webkit":
        x = d * (255 - alpha.astype(np.uint32))
        out: U8 = ((x + (x >> 8) + 128) >> 8).astype(np.uint8)
        return out
    kept: U8 = (d * (256 - alpha.astype(np.uint32)) >> 8).astype(np.uint8)
    return kept


class Canvas:
    """One canvas, drawn ``draw_rows`` image rows at a time and never cleared, as data.js does.

    :meth:`draw` takes the next rows of a sprite, top to bottom, as ``(k, width)`` red or
    ``(k, width, 3)`` RGB values with their ``(k, width)`` alpha, and returns what
    ``getImageData`` gives for them, given what earlier draws left on the canvas. Every colour
    channel is composited the same way (measured for red, green and blue). The canvas is
    ``width`` x ``draw_rows`` (data.js's ``canvas.height = chunkSize``), which picks WebKit's
    GPU or CPU canvas (:func:`canvas_rule`).
    """

    def __init__(
        self,
        width: int,
        height: int,
        draw_rows: int = DRAW_ROWS,
        colours: int = 1,
        engine: str = DEFAULT_ENGINE,
    ):
        self._engine = canvas_rule(engine, width, draw_rows)
        self._rows = draw_rows
        places = min(draw_rows, height)  # no more than the image has: memory stays bounded
        extra = (colours,) if colours > 1 else ()
        self._colour = np.zeros((places, width, *extra), dtype=np.uint8)  # premultiplied
        self._alpha = np.zeros((places, width), dtype=np.uint8)
        self._y = 0  # the sprite row drawn next

    def draw(self, colour: U8, alpha: U8 | None) -> U8:
        out = np.empty_like(colour)
        done = 0
        while done < colour.shape[0]:
            at = self._y % self._rows
            n = min(colour.shape[0] - done, self._rows - at)
            rows = slice(done, done + n)
            a = np.full(colour.shape[:2], 255, np.uint8)[rows] if alpha is None else alpha[rows]
            out[rows] = self._over(colour[rows], a, slice(at, at + n))
            done += n
            self._y += n
        return out

    def _over(self, colour: U8, alpha: U8, place: slice) -> U8:
        """Source-over onto the stored pixels at ``place`` (as the engine blends), read back."""
        engine = self._engine
        per = alpha[..., None] if colour.ndim == 3 else alpha  # alpha for each colour sample
        self._colour[place] = premultiply_table(engine)[per, colour] + keep(
            self._colour[place], per, engine
        )
        self._alpha[place] = alpha + keep(self._alpha[place], alpha, engine)
        stored = self._alpha[place][..., None] if colour.ndim == 3 else self._alpha[place]
        out: U8 = unpremultiply_table(engine)[stored, self._colour[place]]
        return out


# -- gAMA: measured in each engine, every value of every table (see gamma_table) ------------

# The gAMA values each engine draws as stored (no cHRM): Chromium (Skia's PNG codec) when
# 0.95 < gAMA / 1e5 * 2.2 < 1.05 in float32; Firefox and WebKit (libpng's png_set_gamma(2.2,
# gAMA)) when either of libpng's two thresholds says the correction is not significant.
GAMMA_WINDOWS: dict[str, tuple[int, int]] = {
    "chromium": (43_182, 47_727),
    "firefox": (43_182, 47_847),
    "webkit": (43_182, 47_847),
}


@lru_cache(maxsize=64)
def gamma_table(engine: str, gama: int) -> U8 | None:
    """``table[v]``: what ``engine``'s canvas gives for stored 8-bit sample ``v`` of a PNG whose
    only colour chunk is gAMA ``gama``; None where it draws the stored values.

    Firefox and WebKit: libpng's 8-bit table, a pure power ``1 / (2.2 * gamma)`` rounded half
    up, 0 and 255 kept (libpng 1.6.59 in Firefox and 1.6.39 in WebKit divide in another
    order). Chromium: Skia converts a profile of sRGB primaries and transfer ``x ** (1 /
    gamma)`` to the sRGB canvas in float32, with its approximate log2 and pow2, and stores
    ``rint(v * 255)``. Measured for grey and RGB, 305 gAMA values an engine, every value."""
    name = check_engine(engine)
    low, high = GAMMA_WINDOWS[name]
    if low <= gama <= high:
        return None
    table = _skia_gamma(gama) if name == "chromium" else _libpng_gamma(name, gama)
    return None if table is None or (table == np.arange(256)).all() else table


def _libpng_gamma(engine: str, gama: int) -> U8 | None:
    """libpng's png_set_gamma(2.2, gAMA / 100000) and its png_build_8bit_table."""
    g = gama * 0.00001
    if engine == "webkit":
        if not 16 <= gama <= 625_000_000:  # libpng 1.6.39 drops such a gAMA
            return None
    else:
        if gama > 0x7FFF_FFFF:
            return None
        if g <= 0.0 or g > 21474.83:  # nsPNGDecoder's reset
            g = 0.45455
    fixed = int(np.floor((g * 100000 if g < 128 else g) + 0.5))  # convert_gamma_value
    if engine == "firefox" and not 1000 <= fixed <= 10_000_000:
        return None
    if 95000 <= np.floor(fixed * 220000 / 100000 + 0.5) <= 105000:  # png_gamma_threshold
        return None
    if engine == "firefox":  # 1.6.47 and later: png_reciprocal2(screen, file)
        exponent = np.floor(1e15 / 220000 / fixed + 0.5)
    else:  # 1.6.39: png_reciprocal2(file, screen)
        exponent = np.floor(1e15 / fixed / 220000 + 0.5)
    if 95000 <= exponent <= 105000:  # png_build_8bit_table: not significant
        return None
    v = np.arange(256, dtype=np.float64)
    out = np.floor(255 * np.power(v / 255.0, exponent * 0.00001) + 0.5)
    out[0], out[255] = 0, 255
    table: U8 = out.astype(np.uint8)
    return table


_F32 = np.float32
# skcms_TransferFunction_invert of sRGB, as skcms computes it in float32.
_INVERSE_SRGB = (_F32(0.41666666), _F32(1.1372833), _F32(-0.0), _F32(12.92), _F32(0.003130805),
                 _F32(-0.054969788), _F32(-0.0))  # fmt: skip


def _f32_bits(i: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    return np.asarray(i, np.int32).view(np.float32)


def _approx_log2(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Skia's raster pipeline's approx_log2, in float32."""
    bits = np.asarray(x, _F32).view(np.int32)
    e = bits.astype(_F32) * _F32(1.0 / (1 << 23))
    m = _f32_bits((bits & 0x007FFFFF) | 0x3F000000)
    out: npt.NDArray[np.float32] = (
        e
        - _F32(124.225514990)
        - _F32(1.498030302) * m
        - _F32(1.725879990) / (_F32(0.3520887068) + m)
    )
    return out


def _approx_pow2(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Skia's raster pipeline's approx_pow2 (rounded to nearest), in float32."""
    f = x - np.floor(x).astype(_F32)
    a = (
        x
        + _F32(121.274057500)
        - f * _F32(1.490129070)
        + _F32(27.728023300) / (_F32(4.84252568) - f)
    )
    a = np.clip(a * _F32(1 << 23), _F32(0), _F32(2139095040.0))
    return _f32_bits(np.rint(a).astype(np.int64).astype(np.int32))


def _approx_pow(x: npt.NDArray[np.float32], y: np.float32) -> npt.NDArray[np.float32]:
    safe = np.where(x > 0, x, _F32(1))
    out: npt.NDArray[np.float32] = np.where(
        (x == 0) | (x == 1), x, _approx_pow2(_approx_log2(safe) * y)
    ).astype(_F32)
    return out


def _skia_gamma(gama: int) -> U8 | None:
    """Chromium: the transfer ``x ** (1 / gamma)`` to sRGB in Skia's float32 pipeline."""
    if gama == 0:
        return None
    gamma = _F32(gama) / _F32(100000)
    g = _F32(1) / gamma
    if abs(float(g) - 1.0) < 0.001:  # SkColorSpace::MakeRGB: linear
        g = _F32(1)
    elif abs(float(g) - 2.2) < 0.001:  # ... or 2.2
        g = _F32(2.2)
    x = np.arange(256).astype(_F32) * _F32(1 / 255.0)
    linear = x if g == 1 else _approx_pow(x, g)
    ig, ia, ib, ic, id_, ie, i_f = _INVERSE_SRGB
    encoded = np.where(
        linear <= id_, ic * linear + i_f, _approx_pow(ia * linear + ib, ig) + ie
    ).astype(_F32)
    encoded = np.clip(encoded, _F32(0), _F32(1))
    table: U8 = np.rint(encoded * _F32(255)).astype(np.uint8)  # round half to even
    return table


def _gama(chunks: dict[str, bytes]) -> int | None:
    data = chunks.get("gAMA")
    return struct.unpack(">I", data)[0] if data is not None and len(data) == 4 else None


def colour_rule(
    chunks: dict[str, bytes], engine: str = DEFAULT_ENGINE, *, depth: int = 8, alpha: bool = False
) -> tuple[U8 | None, str | None]:
    """What ``engine``'s canvas does to the colours of a PNG with these colour chunks:
    ``(table, None)`` when it corrects each sample as ``table`` says (reproduced: convert
    applies it), ``(None, None)`` when it draws the stored values, and ``(None, warning)``
    when it corrects them in a way not reproduced here.

    Measured: an iCCP profile is applied; an sRGB chunk overrides gAMA in Chromium and WebKit,
    not in Firefox; a gAMA outside the engine's window (:data:`GAMMA_WINDOWS`) is a table, for
    8-bit and lower opaque images; with cHRM (and no sRGB) Chromium and Firefox convert the
    colours in full (WebKit ignores cHRM).
    """
    name = check_engine(engine)
    named = []
    if "iCCP" in chunks:
        profile = chunks["iCCP"].split(b"\0", 1)[0].decode("latin-1", "replace")
        named.append(f"iCCP (colour profile {profile!r})")
    gama = _gama(chunks)
    srgb = "sRGB" in chunks
    table = None
    if gama is not None and not (srgb and name != "firefox"):
        if "cHRM" in chunks and not srgb and name != "webkit":
            named.append(f"gAMA {gama / 100000:g} and cHRM")  # a full conversion, any gAMA
        elif (table := gamma_table(name, gama)) is not None and (depth > 8 or alpha):
            named.append(
                f"gAMA {gama / 100000:g} on {'16-bit' if depth > 8 else 'transparent'} pixels"
            )
            table = None
    if named:
        return None, (
            f"{' and '.join(named)}: {name}'s canvas colour-corrects this PNG in a way this tool "
            "does not reproduce, so TensorFlow.js gets other values than the stored ones, which "
            "are what this tool gives"
        )
    return table, None


def colour_warning(
    chunks: dict[str, bytes], engine: str = DEFAULT_ENGINE, *, depth: int = 8, alpha: bool = False
) -> str | None:
    """:func:`colour_rule`'s warning: what ``engine`` does to the colours that convert does
    not reproduce; None when it draws the stored values or a correction reproduced here."""
    return colour_rule(chunks, engine, depth=depth, alpha=alpha)[1]


def over_fill(colour: U8, alpha: U8, fill: int, engine: str) -> U8:
    """What ``getImageData`` gives for an image (``(h, w)`` gray or ``(h, w, 3)`` RGB, with its
    ``(h, w)`` alpha) drawn once onto a canvas of its own size filled with opaque gray
    ``fill`` (0: black, 255: white): source-over as the engine blends (:func:`keep`), on the
    canvas its size picks (:func:`canvas_rule`). The result is opaque, so read back as held."""
    h, w = alpha.shape
    rule = canvas_rule(engine, w, h)
    per = alpha[..., None] if colour.ndim == 3 else alpha
    under = np.full(colour.shape, fill, np.uint8)
    stored: U8 = premultiply_table(rule)[per, colour] + keep(under, per, rule)
    held = alpha + keep(np.full(alpha.shape, 255, np.uint8), alpha, rule)
    out: U8 = unpremultiply_table(rule)[held[..., None] if colour.ndim == 3 else held, stored]
    return out


def drawn_alone(colour: U8, alpha: U8, engine: str) -> U8:
    """What ``getImageData`` gives for an image drawn once onto a fresh (transparent) canvas
    of its own size: each colour premultiplied by its alpha and back (:func:`alpha_table`)."""
    h, w = alpha.shape
    per = alpha[..., None] if colour.ndim == 3 else alpha
    out: U8 = alpha_table(canvas_rule(engine, w, h))[per, colour]
    return out
