"""What the browser check needs, installed into a folder it owns: Node.js and pinned npm
packages (TensorFlow.js at the version tfjs-examples' mnist example pins, and puppeteer-core to
drive the system's Chromium and Firefox); each engine's Debian packages are installed by
``engines.py`` (apt-get, when missing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# tfjs-examples' mnist/package.json pins @tensorflow/tfjs 2.0.0; puppeteer-core downloads no
# browser of its own. 24.43.1 drives Chromium over DevTools and Firefox over WebDriver BiDi
# (``browser: "firefox"``, puppeteer-core 23 and later), checked with Debian's firefox-esr 153.
NPM_PACKAGES = {"@tensorflow/tfjs": "2.0.0", "puppeteer-core": "24.43.1"}
CHROMIUM = "/usr/bin/chromium"


class SetupError(Exception):
    """The check cannot run here; the message says what to do."""


@dataclass(frozen=True)
class Tools:
    chromium: Path
    node: Path
    node_modules: Path

    @property
    def tfjs(self) -> Path:
        return self.node_modules / "@tensorflow" / "tfjs" / "dist" / "tf.min.js"


def say(message: str) -> None:
    print(f"browser: {message}", file=sys.stderr, flush=True)


def apt_install(packages: list[str], log: Path) -> None:
    """``apt-get install`` as root, its output in ``log``; a one-line SetupError otherwise."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        hint = ", or set CHROMIUM to a Chromium binary" if packages == ["chromium"] else ""
        raise SetupError(
            f"{' and '.join(packages)} missing; install Debian's {' '.join(packages)} "
            f"(apt-get install needs root){hint}"
        )
    say(f"installing {', '.join(packages)} from Debian (apt-get; log in {log})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=600"]  # another apt-get on the machine: wait for it
    with log.open("ab") as out:
        for argv in (
            ["apt-get", *wait, "update", "-q"],
            ["apt-get", *wait, "install", "-y", "-q", "--no-install-recommends", *packages],
        ):
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
            if done.returncode != 0:
                raise SetupError(f"{' '.join(argv[:1] + argv[3:])} failed (see {log})")


def installed_version(node_modules: Path, package: str) -> str | None:
    try:
        meta = json.loads((node_modules / package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = meta.get("version")
    return version if isinstance(version, str) else None


def npm_install(folder: Path) -> None:
    """The pinned npm packages into ``folder/node_modules`` (no install scripts, no browser)."""
    node_modules = folder / "node_modules"
    wanted = [
        f"{name}@{ver}"
        for name, ver in NPM_PACKAGES.items()
        if installed_version(node_modules, name) != ver
    ]
    if not wanted:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError("npm is missing; install Debian's npm (apt-get install npm)")
    log = folder / "npm.log"
    say(f"installing {' '.join(wanted)} from npm into {folder}/ (log in {log})")
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
    argv = [
        npm,
        "install",
        "--prefix",
        str(folder),
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--save-exact",
        *wanted,
    ]
    with log.open("ab") as out:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
    if done.returncode != 0:
        raise SetupError(f"npm install {' '.join(wanted)} failed (see {log})")
    for name, ver in NPM_PACKAGES.items():
        if installed_version(node_modules, name) != ver:
            raise SetupError(f"npm did not install {name}@{ver} into {node_modules}")


def ensure(folder: Path) -> Tools:
    """Node.js and the npm packages, installing what is missing. Chromium is
    ``$CHROMIUM`` (which must then be executable) or Debian's, installed by engines.py."""
    folder.mkdir(parents=True, exist_ok=True)
    chromium = Path(os.environ.get("CHROMIUM", CHROMIUM))
    if "CHROMIUM" in os.environ and not os.access(chromium, os.X_OK):
        raise SetupError(f"CHROMIUM={chromium} is not an executable file")
    if shutil.which("node") is None or shutil.which("npm") is None:
        apt_install(["nodejs", "npm"], folder / "apt.log")
    node = shutil.which("node")
    if node is None:
        raise SetupError("node is missing after installing nodejs")
    npm_install(folder)
    return Tools(chromium, Path(node), folder / "node_modules")
