"""The bundled sample is the first 1,000 real digits, as tests/make_sample.py makes them."""

from __future__ import annotations

from mnist_sprite.datasets import DATA_DIR, SAMPLE
from mnist_sprite.files import file_sha256
from mnist_sprite.png import pixels_sha256
from tests import make_sample
from tests.conftest import REAL_SPRITE, needs_real


def test_bundled_files_match_their_pinned_digests() -> None:
    assert file_sha256(DATA_DIR / SAMPLE.sprite.name) == SAMPLE.sprite.sha256
    assert pixels_sha256(DATA_DIR / SAMPLE.sprite.name) == SAMPLE.sprite.pixels_sha256
    assert file_sha256(DATA_DIR / SAMPLE.labels.name) == SAMPLE.labels.sha256
    assert (DATA_DIR / SAMPLE.sprite.name).stat().st_size < 250_000


@needs_real
def test_bundled_sample_is_what_the_script_makes_from_the_real_files() -> None:
    image, labels = make_sample.make(REAL_SPRITE.parent)
    assert image == (DATA_DIR / SAMPLE.sprite.name).read_bytes()
    assert labels == (DATA_DIR / SAMPLE.labels.name).read_bytes()
