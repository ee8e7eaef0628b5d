"""pack for any dataset size: per-class array folders, the stratified split,
shards and their NAME.json, read back whole by convert, inspect, verify and load_data; a
bundle appears whole or not at all."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mnist_sprite
from mnist_sprite.bundle import content_name, default_shard_rows
from mnist_sprite.cli import cli
from mnist_sprite.errors import MnistSpriteError, OptionError, SourceError
from mnist_sprite.packing import pack
from tests.cli_kit import digest, packed


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def class_folder(root: Path, counts: dict[str, int], width: int = 16, seed: int = 0) -> Path:
    """``<class>.npy`` of ``(n, width)`` uint8 rows; each row starts with its class number."""
    rng = np.random.default_rng(seed)
    root.mkdir()
    for c, (name, n) in enumerate(counts.items()):
        x = rng.integers(0, 256, (n, width), dtype=np.uint8)
        x[:, 0] = c
        np.save(root / f"{name}.npy", x)
    return root


def source_rows(root: Path, names: list[str]) -> np.ndarray:
    return np.concatenate([np.load(root / f"{n}.npy") for n in names])


def arrays(bundle: Path) -> dict[str, np.ndarray]:
    (xtr, ytr), (xte, yte) = mnist_sprite.load_data(
        sprite=bundle, dtype="uint8", label_format="index"
    )
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}


def test_a_class_folder_packs_into_shards_that_read_back_as_the_split(tmp_path: Path) -> None:
    src = class_folder(tmp_path / "src", {"cat": 40, "dog": 33, "eel": 27})
    web = tmp_path / "web"
    result = pack(src, web, name="qd", test_size="0.1", seed=5, shard_rows=30)
    facts = json.loads((web / "qd.json").read_text())
    assert [s["rows"] for s in facts["shards"]] == [30, 30, 30, 10]
    assert facts["class_names"] == ["cat", "dog", "eel"] and facts["train_images"] == 90
    names = {p.name for p in web.iterdir()}
    assert names == {"qd.json", "qd.js", "package.json"} | {
        content_name(f"qd_{kind}", entry["sha256"])
        for i, shard in enumerate(facts["shards"])
        for kind, entry in ((f"images_{i:03d}.png", shard["images"]),
                            (f"labels_{i:03d}_uint8", shard["labels"]))
    }  # fmt: skip
    for shard in facts["shards"]:
        for role in ("images", "labels"):
            entry = shard[role]
            assert (web / entry["name"]).stat().st_size == entry["bytes"]
    got = arrays(web / "qd.json")
    assert np.bincount(got["y_test"]).tolist() == [4, 3, 3]  # 10 of 100: 4, 3.3, 2.7
    rows = source_rows(src, ["cat", "dog", "eel"])
    for part in ("train", "test"):
        x, y = got[f"x_{part}"], got[f"y_{part}"]
        assert (x[:, 0] == y).all()  # each image kept its class
        # every row is a source row of that class: a partition of the source
        assert {r.tobytes() for r in x} <= {r.tobytes() for r in rows}
    both = np.concatenate([got["x_train"], got["x_test"]])
    assert sorted(r.tobytes() for r in both) == sorted(r.tobytes() for r in rows)
    assert result.facts["images"] == 100
    code, stdout, _ = run("verify", str(web / "qd.json"), "--source", str(src))
    assert code == 0, stdout


def test_sharded_and_single_packs_convert_to_the_same_arrays(tmp_path: Path) -> None:
    src = class_folder(tmp_path / "src", {"a": 21, "b": 19})
    pack(src, tmp_path / "one", test_size=8, seed=1)
    pack(src, tmp_path / "many", test_size=8, seed=1, shard_rows=7)
    assert packed(tmp_path / "one")[0].name.startswith("data_images.")
    one, many = arrays(tmp_path / "one" / "data.json"), arrays(tmp_path / "many" / "data.json")
    assert all((one[k] == many[k]).all() for k in one)
    out = tmp_path / "x.npz"
    code, _, stderr = run("convert", "--sprite", str(tmp_path / "many" / "data.json"), "--out",
                          str(out), "-q")  # fmt: skip
    assert code == 0, stderr
    with np.load(out) as d:
        assert d["x_train"].shape == (32, 16) and d["y_test"].shape == (8, 2)
        assert (d["x_test"] == np.float32(many["x_test"]) / np.float32(255)).all()
    code, stdout, _ = run("inspect", str(tmp_path / "many" / "data.json"))
    assert code == 0 and packed(tmp_path / "many", shard=5)[0].name in stdout
    code, _, stderr = run("convert", "--sprite", str(tmp_path / "many" / "data.json"),
                          "--labels", str(packed(tmp_path / "many")[1]),
                          "--out", str(tmp_path / "y.npz"))  # fmt: skip
    assert code == 2 and "drop --labels" in stderr


def test_classes_from_orders_the_classes_and_limit_takes_the_first_rows(tmp_path: Path) -> None:
    src = class_folder(tmp_path / "src", {"a": 5, "b": 6, "c": 7})
    order = tmp_path / "names.txt"
    order.write_text("c\n\na\nb\n")
    pack(src, tmp_path / "web", classes_from=order, limit_per_class=4, seed=3, test_size=0)
    facts = json.loads((tmp_path / "web" / "data.json").read_text())
    assert facts["class_names"] == ["c", "a", "b"] and facts["images"] == 12
    got = arrays(tmp_path / "web" / "data.json")
    assert facts["train_images"] == 12 and got["x_test"].shape[0] == 0
    for c, name in enumerate(["c", "a", "b"]):
        first = np.load(src / f"{name}.npy")[:4]
        mine = got["x_train"][got["y_train"] == c]
        assert sorted(r.tobytes() for r in mine) == sorted(r.tobytes() for r in first)


def test_an_npz_of_one_stored_array_is_a_class(tmp_path: Path) -> None:
    src = class_folder(tmp_path / "src", {"a": 5})
    np.savez(src / "b.npz", np.full((4, 16), 9, np.uint8))
    pack(src, tmp_path / "web")
    got = arrays(tmp_path / "web" / "data.json")
    assert (got["x_train"][got["y_train"] == 1] == 9).all()


@pytest.mark.parametrize(
    ("make", "named", "problem"),
    [
        (lambda d: np.save(d / "b.npy", np.zeros((3, 17), np.uint8)), "b.npy", "holds rows of"),
        (lambda d: np.save(d / "b.npy", np.zeros((3, 16), np.int16)), "b.npy", "holds rows of"),
        (lambda d: (d / "b.npy").write_text("cat,dog\n"), "b.npy", "is not a .npy array"),
        (
            lambda d: (d / "b.npy").write_bytes((d / "a.npy").read_bytes()[:-5]),
            "b.npy",
            "truncated",
        ),
        (
            lambda d: np.savez_compressed(d / "b.npz", np.zeros((3, 16), np.uint8)),
            "b.npz",
            "compressed",
        ),
        (
            lambda d: np.savez(d / "b.npz", x=np.zeros((3, 16), np.uint8), y=np.zeros(3)),
            "b.npz",
            "not one array",
        ),
    ],
)
def test_bad_class_files_are_refused_naming_the_file(
    tmp_path: Path, make: object, named: str, problem: str
) -> None:
    src = class_folder(tmp_path / "src", {"a": 5})
    assert callable(make)
    make(src)
    code, _, stderr = run("pack", str(src), "--out", str(tmp_path / "web"))
    assert code == 1 and stderr.startswith("error: ") and named in stderr and problem in stderr
    assert stderr.count("\n") == 1 and not (tmp_path / "web").exists()


def test_too_few_images_for_the_limit_and_a_class_without_a_test_image(tmp_path: Path) -> None:
    src = class_folder(tmp_path / "src", {"big": 100, "small": 3})
    code, _, stderr = run("pack", str(src), "--out", str(tmp_path / "w"), "--limit-per-class", "5")
    assert code == 1 and "small.npy" in stderr and "fewer than --limit-per-class 5" in stderr
    code, _, stderr = run("pack", str(src), "--out", str(tmp_path / "w"), "--test-size", "0.05")
    assert code == 2 and "'small'" in stderr and "no test image" in stderr
    assert not (tmp_path / "w").exists()


def test_test_size_splits_a_source_with_a_split_again_and_class_options_are_refused(
    tmp_path: Path,
) -> None:
    npz = tmp_path / "k.npz"
    x = np.arange(40 * 4, dtype=np.uint8).reshape(40, 2, 2)
    y = np.arange(40) % 4
    np.savez(npz, x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:])
    pack(npz, tmp_path / "web", test_size="0.25", seed=2)
    got = arrays(tmp_path / "web" / "data.json")
    assert np.bincount(got["y_test"]).tolist() == [3, 3, 2, 2]  # 2.5 each: first two round up
    both = np.concatenate([got["x_train"], got["x_test"]]).reshape(40, 4)
    labels = np.concatenate([got["y_train"], got["y_test"]])
    assert sorted(map(bytes, both)) == sorted(map(bytes, x.reshape(40, 4)))
    assert (both[:, 0] // 4 % 4 == labels).all()  # each image kept its label
    code, stdout, _ = run("verify", str(tmp_path / "web" / "data.json"), "--source", str(npz))
    assert code == 0, stdout
    for option in ({"limit_per_class": 3}, {"seed": 1}):
        with pytest.raises(OptionError, match="per class"):
            pack(npz, tmp_path / "other", **option)  # type: ignore[arg-type]


def shards_of(tmp_path: Path) -> Path:
    src = class_folder(tmp_path / "src", {"a": 12, "b": 12})
    pack(src, tmp_path / "web", test_size=4, shard_rows=10)
    return tmp_path / "web" / "data.json"


def test_a_changed_or_missing_shard_is_refused_naming_it(tmp_path: Path) -> None:
    bundle = shards_of(tmp_path)
    shard = packed(bundle.parent, shard=1)[0]
    data = bytearray(shard.read_bytes())
    data[-20] ^= 1
    shard.write_bytes(bytes(data))
    for command in (["inspect", str(bundle)], ["convert", "--sprite", str(bundle), "--out",
                                               str(tmp_path / "x.npz")]):  # fmt: skip
        code, _, stderr = run(*command)
        assert code == 1 and shard.name in stderr and "changed after packing" in stderr
    code, stdout, _ = run("verify", str(bundle))
    assert code == 1 and shard.name in stdout
    packed(bundle.parent, shard=2)[1].unlink()
    with pytest.raises(SourceError, match=re.escape(shard.name)):
        mnist_sprite.load_data(sprite=bundle)
    shard.unlink()
    code, _, stderr = run("inspect", str(bundle))
    assert code == 1 and f"{shard.name}: is missing" in stderr
    assert not (tmp_path / "x.npz").exists()


def test_a_name_in_the_json_is_never_followed_out_of_its_folder(tmp_path: Path) -> None:
    bundle = shards_of(tmp_path)
    facts = json.loads(bundle.read_text())
    facts["shards"][0]["images"]["name"] = "../data_images_000.png"
    bundle.write_text(json.dumps(facts))
    code, _, stderr = run("inspect", str(bundle))
    assert code == 1 and "a file name beside it" in stderr


def test_never_half_a_bundle(tmp_path: Path) -> None:
    src = class_folder(tmp_path / "src", {"a": 30, "b": 30})
    web = tmp_path / "web"
    web.mkdir()
    pack(src, tmp_path / "first", shard_rows=20)  # the same content: the same names
    third = packed(tmp_path / "first", shard=2)[0].name
    (web / third).write_text("mine")  # one target exists: nothing is written
    code, _, stderr = run("pack", str(src), "--out", str(web), "--shard-rows", "20")
    assert code == 1 and f"{third}: is not a file an earlier pack wrote" in stderr
    assert [p.name for p in web.iterdir()] == [third]
    (web / third).unlink()
    # A failure half-way (a float that is not k/255 in the last shard's rows) leaves nothing.
    bad = tmp_path / "bad"
    bad.mkdir()
    x = np.zeros((30, 16), np.float32)
    x[-1, 3] = 0.5
    np.save(bad / "a.npy", np.zeros((30, 16), np.float32))
    np.save(bad / "b.npy", x)
    code, _, stderr = run("pack", str(bad), "--out", str(web), "--shard-rows", "20", "--seed", "0")
    assert code == 1 and "not k / 255" in stderr and list(web.iterdir()) == []


def test_force_replaces_a_bundle_and_removes_shards_it_no_longer_has(tmp_path: Path) -> None:
    src = class_folder(tmp_path / "src", {"a": 30, "b": 30})
    web = tmp_path / "web"
    pack(src, web, shard_rows=20, test_size=0)
    (web / "notes.txt").write_text("mine")
    assert len(list(web.glob("data_images_*.png"))) == 3
    with pytest.raises(MnistSpriteError, match="already exists"):
        pack(src, web, shard_rows=20, test_size=0)
    pack(src, web, shard_rows=40, force=True, test_size=0)
    shards = [packed(web, shard=i) for i in (0, 1)]
    assert sorted(p.name for p in web.iterdir()) == sorted(
        ["data.js", "data.json", "notes.txt", "package.json"]
        + [path.name for pair in shards for path in pair]
    )
    assert [path.name.split(".")[0] for pair in shards for path in pair] == [
        "data_images_000", "data_labels_000_uint8", "data_images_001", "data_labels_001_uint8",
    ]  # fmt: skip
    assert [p.name for p in web.iterdir() if p.name.startswith(".")] == []
    assert arrays(web / "data.json")["x_train"].shape == (60, 16)


def test_default_shard_rows_stay_within_the_browser_and_convert() -> None:
    """Within every engine: Firefox draws nothing of 65,536 rows (it was 171,196 for 28x28
    images, Chromium's limit and convert's, before Firefox was measured)."""
    assert default_shard_rows(28, 28) == 65_535
    assert default_shard_rows(8, 8) == 65_535
    assert default_shard_rows(32, 32) == 65_535
    assert default_shard_rows(2048, 2048) == 32  # 134,217,728 pixels / 4,194,304


def test_the_loader_is_written_with_the_bundle(tmp_path: Path) -> None:
    bundle = shards_of(tmp_path)
    js = (bundle.parent / "data.js").read_text()
    facts = json.loads(bundle.read_text())
    assert 'const JSON_NAME = "data.json";' in js and "export async function load(url)" in js
    assert "export class MnistData" in js
    assert f"export const IMAGE_H = {facts['image_height']};" in js
    assert facts["loader"]["name"] == "data.js" and facts["loader"]["bytes"] == len(js.encode())


def test_rows_the_json_claims_are_checked_against_each_sprite_first(tmp_path: Path) -> None:
    bundle = shards_of(tmp_path)
    facts = json.loads(bundle.read_text())
    facts["shards"][1]["rows"] += 10**9
    facts["images"] += 10**9
    facts["train_images"] += 10**9
    bundle.write_text(json.dumps(facts))
    code, _, stderr = run("convert", "--sprite", str(bundle), "--out", str(tmp_path / "x.npz"))
    sprite = packed(bundle.parent, shard=1)[0].name
    assert code == 1 and f"{sprite}: is 16x10" in stderr and "says" in stderr


def test_a_failure_at_the_last_move_puts_every_earlier_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnist_sprite import atomic as writers

    src = class_folder(tmp_path / "src", {"a": 30, "b": 30})
    web = tmp_path / "web"
    pack(src, web, shard_rows=20)
    before = {p.name: p.read_bytes() for p in web.iterdir()}
    real = writers._move_noreplace

    def failing(src_path: Path, dst: Path) -> None:
        if dst.name == "data.json" and ".mnist-sprite-" in src_path.parent.name:
            raise OSError(28, "No space left on device")
        real(src_path, dst)

    monkeypatch.setattr(writers, "_move_noreplace", failing)
    with pytest.raises(MnistSpriteError, match="No space left"):
        pack(src, web, shard_rows=20, seed=9, force=True)
    assert {p.name: p.read_bytes() for p in web.iterdir()} == before


def test_a_header_that_claims_more_than_the_file_holds_is_refused_before_mapping(
    tmp_path: Path,
) -> None:
    src = class_folder(tmp_path / "src", {"a": 5})
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 16), np.uint8))
    header["shape"] = (2**40, 2**40)
    with open(src / "b.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(bytes(64))
    code, _, stderr = run("pack", str(src), "--out", str(tmp_path / "web"))
    assert code == 1 and "b.npy" in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "web").exists()


def test_file_names_carry_their_content_digest_so_a_cached_file_is_never_another_packs(
    tmp_path: Path,
) -> None:
    src = class_folder(tmp_path / "src", {"a": 12, "b": 12})
    web = tmp_path / "web"
    pack(src, web, test_size=4)
    first = images, labels = packed(web)
    assert images.name == f"data_images.{digest(images)[:16]}.png"
    assert labels.name == f"data_labels_uint8.{digest(labels)[:16]}"
    pack(src, tmp_path / "again", test_size=4)
    assert [p.name for p in packed(tmp_path / "again")] == [p.name for p in first]
    pack(src, web, test_size=6, force=True)  # other content: other names, the old ones gone
    second = packed(web)
    assert {p.name for p in second}.isdisjoint(p.name for p in first)
    assert not any(p.exists() for p in first) and all(p.is_file() for p in second)
