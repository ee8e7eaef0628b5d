"""A case of the browser check for a folder ``mnist-sprite pack`` wrote, checked through the ES
module it generated: the page imports NAME.js and awaits ``load()``, in the window and then in a
module Worker, and node does the same (``packed_node.mjs``). Its images (``toFloat32`` of its
bytes) and labels are compared as raw float32 bits with ``mnist-sprite convert --sprite
NAME.json``, and its numbers (image size, channels, classes, split) with NAME.json's."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.browser.check import (
    ERROR,
    PAGE,
    array_problems,
    converted,
    serve_page,
    verdict,
)
from tests.browser.engines import TIMEOUT_S, Broken, Engine
from tests.browser.install import Tools

FOLDER_URL = "/pack/"  # the pack's files, apart from the page's own
NODE_RUN = Path(__file__).resolve().parent / "packed_node.mjs"


@dataclass(frozen=True)
class Packed:
    """A pack's NAME.json, to be loaded by its NAME.js."""

    manifest: Path


def pack_files(manifest: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """NAME.json's facts and the URL of each file the page may fetch: NAME.json, NAME.js and
    every shard's sprite and labels, under ``FOLDER_URL``. A name that is a path is refused."""
    facts = json.loads(manifest.read_text(encoding="utf-8"))
    names = [manifest.name, facts["loader"]["name"]]
    for shard in facts["shards"]:
        names += [shard["images"]["name"], shard["labels"]["name"]]
    for name in names:
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ValueError(f"the file name {name!r} in it is not a plain name")
    return facts, {FOLDER_URL + name: manifest.parent / name for name in names}


def load_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """What load() must give besides the arrays, from NAME.json."""
    return {
        "imageHeight": facts["image_height"],
        "imageWidth": facts["image_width"],
        "channels": facts["channels"],
        "classes": facts["classes"],
        "classNames": facts["class_names"],
        "trainImages": facts["train_images"],
        "testImages": facts["images"] - facts["train_images"],
    }


def fact_problems(want: dict[str, Any], got: Any) -> list[str]:
    """How load()'s numbers differ from NAME.json's."""
    got = got if isinstance(got, dict) else {}
    return [
        f"load().{key} is {got.get(key)!r}, NAME.json says {value!r}"
        for key, value in want.items()
        if got.get(key) != value
    ]


def expected(manifest: Path, work: Path) -> tuple[np.ndarray[Any, Any], bytes]:
    """``mnist-sprite convert --sprite NAME.json``: float32 flat images, one-hot label bytes."""
    flags = ["--dtype", "float32", "--label-format", "onehot", "--shape", "flat"]
    return converted(["--sprite", str(manifest), *flags], work)


LOOPBACK = "127.0.0.1"


def network_address() -> str | None:
    """This machine's address on its network, not loopback: a page served there over plain
    http is no secure context (as a page from another host is), so it has no SubtleCrypto."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))  # no packet is sent: only the route is chosen
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


# Where the check opens a pack's page: (what, query, host; None: loopback, a secure context).
PLACES = [("window", "", None), ("Worker", "?worker", None)]
if (_ADDRESS := network_address()) is not None:
    PLACES.append(("insecure window", "", _ADDRESS))


def run_packed(case: Packed, engines: list[Engine | Broken], *, node: bool = True) -> int:
    """Check one pack through its NAME.js in each engine: a verdict line each on stdout; the
    worst of MATCH/DIFFER/ERROR."""
    try:
        facts, files = pack_files(case.manifest)
        loader, shards, want = facts["loader"]["name"], len(facts["shards"]), load_facts(facts)
        with tempfile.TemporaryDirectory(prefix="browser-check-") as tmp:
            x, labels = expected(case.manifest, Path(tmp))
    except OSError as e:
        print(f"browser: ERROR {case.manifest}: {e.strerror or e}")
        return ERROR
    except (ValueError, KeyError, TypeError) as e:
        print(f"browser: ERROR {case.manifest}: not a pack manifest ({e})")
        return ERROR
    places = ", ".join(f"{w} (at {h}, no SubtleCrypto)" if h else w for w, _, h in PLACES)
    name = f"packed {case.manifest.name}: {loader} load() of {shards} shard(s), {places} and node"
    print(f"browser: {name}: {len(x)} images", file=sys.stderr)
    served: dict[str, Path | bytes] = {f"/{p.name}": p for p in PAGE.iterdir()}
    page = (PAGE / "packed.js").read_text(encoding="utf-8").replace("__LOADER__", loader)
    served |= files | {"/packed.js": page.encode()}
    codes, tools = [], None
    for engine in engines:
        problems: list[str] = []
        for where, query, host in PLACES:
            page = f"packed.html{query}"
            run = serve_page(engine, served, page, x.nbytes, len(labels), name, host or LOOPBACK)
            if run is None or isinstance(engine, Broken):
                break
            result, got_x, got_y = run
            found = fact_problems(want, result.get("facts"))
            if result.get("where") != where.split()[-1].lower():
                found.append(f"the page ran in {result.get('where')!r}, not a {where}")
            if host is not None and (result.get("secure") or result.get("subtle")):
                found.append(f"the page at {host} had SubtleCrypto: the own SHA-256 went untried")
            found += array_problems(x, labels, got_x, got_y, len(x))
            problems += [f"in a {where}: {p}" for p in found]
        else:
            assert isinstance(engine, Engine)
            codes.append(verdict(problems, x, labels, name, engine))
            tools = tools or engine.tools
            continue
        codes.append(ERROR)
    if node and tools is not None:  # node once, with the tools the engines ran with
        codes.append(node_verdict(tools, case.manifest.parent / loader, want, x, labels, name))
    return max(codes, default=ERROR)


@dataclass(frozen=True)
class Runtime:
    """Node, named in a verdict line as an engine is."""

    title: str


def node_verdict(
    tools: Tools, loader: Path, want: dict[str, Any], x: Any, labels: bytes, name: str
) -> int:
    """The pack's NAME.js under node: one verdict line."""
    node = run_node(tools, loader, name)
    if node is None:
        return ERROR
    result, got_x, got_y = node
    problems = fact_problems(want, result.get("facts"))
    problems += array_problems(x, labels, got_x, got_y, len(x))
    return verdict(problems, x, labels, name, Runtime(f"node {result.get('node')}"))


def run_node(tools: Tools, loader: Path, name: str) -> tuple[dict[str, Any], bytes, bytes] | None:
    """The pack's NAME.js under node (``packed_node.mjs``): (its result, image bytes, label
    bytes), or None after one ERROR line."""
    with tempfile.TemporaryDirectory(prefix="browser-check-node-") as tmp:
        out = Path(tmp) / "got"
        argv = [str(tools.node), str(NODE_RUN), str(loader), str(out)]
        done = subprocess.run(
            argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT_S
        )
        try:
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            result = None
        if not isinstance(result, dict) or "error" in result:
            said = result.get("error") if isinstance(result, dict) else done.stderr[-300:].strip()
            print(f"browser: ERROR under node (exit {done.returncode}): {said} ({name})")
            return None
        seconds = result.get("loadMs", 0) / 1000
        print(f"browser: node {result.get('node')}, loaded in {seconds:.2f} s", file=sys.stderr)
        images, labels = (Path(f"{out}.{part}").read_bytes() for part in ("images", "labels"))
        return result, images, labels
