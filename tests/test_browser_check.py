"""The Python side of the browser check (``make browser-check`` runs the browser itself)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.browser.check import chunk_rows, f32, first_difference, packed_case
from tests.browser.packed import fact_problems, load_facts, pack_files
from tests.browser.server import Server


def test_draws_5000_rows_as_data_js_or_the_largest_divisor_below() -> None:
    assert chunk_rows(65_000, None) == 5000
    assert chunk_rows(1000, None) == 1000
    assert chunk_rows(12_000, None) == 4000
    assert chunk_rows(1000, 100) == 100
    with pytest.raises(ValueError, match="must divide"):
        chunk_rows(1000, 300)


def test_first_difference_names_the_index_the_image_and_both_values() -> None:
    tool = np.array([1, 2, 3, 4, 5, 6], np.uint32)
    assert first_difference("images", tool.copy(), tool, 3, str) is None
    browser = tool.copy()
    browser[[4, 5]] = [0x3EC2C2C4, 9]
    line = first_difference("images", browser, tool, 3, f32)
    assert line is not None
    assert line.startswith("images: 2 of 6 values differ; first at index 4 (image 1, value 1)")
    assert "browser 0.3803921937942505 (0x3ec2c2c4)" in line and "(0x00000005)" in line
    assert "has 5 values" in str(first_difference("labels", tool[:5], tool, 1, str))


def test_a_packed_folder_gives_its_files_size_split_and_channels(tmp_path: Path) -> None:
    facts = {
        "files": {"images": {"name": "d_images.png"}, "labels": {"name": "d_labels_uint8"}},
        "image_height": 32,
        "image_width": 32,
        "train_images": 9,
        "channels": 3,
    }
    (tmp_path / "d.json").write_text(json.dumps(facts))
    case = packed_case(tmp_path / "d.json")
    assert (case.sprite, case.labels) == (tmp_path / "d_images.png", tmp_path / "d_labels_uint8")
    assert (case.image_size, case.train, case.channels) == ((32, 32), 9, "rgb")
    facts["files"]["labels"]["name"] = "../elsewhere"  # type: ignore[index]
    (tmp_path / "d.json").write_text(json.dumps(facts))
    with pytest.raises(ValueError, match="is a path"):
        packed_case(tmp_path / "d.json")


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as e:
        return e.code


def test_server_takes_pieces_in_place_and_refuses_more_than_convert_wrote() -> None:
    server = Server({"/a.js": b"x"}, {"images": 8})
    try:
        assert post(f"{server.url}/result/images?at=4&of=8", b"5678") == 200
        assert post(f"{server.url}/result/images?at=0&of=8", b"1234") == 200
        assert bytes(server.results["images"]) == b"12345678"
        assert server.received["images"] == 8
        assert post(f"{server.url}/result/images?at=0&of=9", b"123456789") == 400
        assert post(f"{server.url}/result/images?at=6&of=8", b"789") == 400
        assert post(f"{server.url}/result/other?at=0&of=1", b"1") == 400
        with urllib.request.urlopen(f"{server.url}/a.js", timeout=30) as answer:
            assert answer.read() == b"x"
    finally:
        server.close()


def test_a_pack_is_served_by_its_manifest_names_and_gives_load_s_numbers(tmp_path: Path) -> None:
    def file(name: str) -> dict[str, str]:
        return {"name": name}

    facts = {
        "loader": file("d.js"),
        "shards": [
            {"images": file("d_images_000.png"), "labels": file("d_labels_uint8_000")},
            {"images": file("d_images_001.png"), "labels": file("d_labels_uint8_001")},
        ],
        "image_height": 28,
        "image_width": 28,
        "channels": 1,
        "classes": 2,
        "class_names": ["cat", "dog"],
        "images": 30,
        "train_images": 27,
    }
    manifest = tmp_path / "d.json"
    manifest.write_text(json.dumps(facts))
    got, files = pack_files(manifest)
    assert got == facts
    names = ["d.json", "d.js", "d_images_000.png", "d_labels_uint8_000"]
    names += ["d_images_001.png", "d_labels_uint8_001"]
    assert files == {f"/pack/{n}": tmp_path / n for n in names}
    want = load_facts(facts)
    assert want["testImages"] == 3 and want["classNames"] == ["cat", "dog"]
    assert fact_problems(want, dict(want)) == []
    assert fact_problems(want, {**want, "trainImages": 26}) == [
        "load().trainImages is 26, NAME.json says 27"
    ]
    assert len(fact_problems(want, None)) == len(want)
    for bad in ("../d_images_001.png", "sub/x.png", ".."):
        facts["shards"][1]["images"] = file(bad)  # type: ignore[index]
        manifest.write_text(json.dumps(facts))
        with pytest.raises(ValueError, match="not a plain name"):
            pack_files(manifest)
