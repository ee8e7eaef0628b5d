"""How a sprite is read as the browser draws it, as the choices a user has: the engines whose
canvas png/canvas.py reproduces, the rows tfjs-examples' loader draws at once, and the decoders.

Plain data and a leaf: png/ takes its defaults from here and options.py its choices, so
neither the decoder nor ``--help`` imports the other.
"""

from typing import Literal

# The browser engines whose canvas convert reproduces (png/canvas.py holds each one's rules).
BROWSERS = ("chromium", "firefox", "webkit")
DEFAULT_BROWSER = "chromium"  # the most used
Decoder = Literal["auto", "numpy", "pypng"]
DECODERS: tuple[str, ...] = ("auto", "numpy", "pypng")
# Rows tfjs-examples' mnist/data.js draws onto its canvas at once (its ``chunkSize``;
# png/canvas.py); changes only sprites with transparency.
DRAW_ROWS = 5000
