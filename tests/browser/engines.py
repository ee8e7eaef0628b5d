"""The three engines the browser check opens its pages in, each from Debian's packages:

- ``chromium``: Debian's ``chromium``, headless, through puppeteer-core (Chrome DevTools);
- ``firefox``: Debian's ``firefox-esr``, headless, through puppeteer-core over WebDriver BiDi;
- ``webkit``: Debian's ``webkit2gtk-driver``: ``WebKitWebDriver`` on 127.0.0.1 drives
  WebKitGTK's ``MiniBrowser`` over plain W3C WebDriver HTTP (the small client here, no
  dependency). MiniBrowser has no headless mode, so it gets a display from Debian's ``xvfb``
  when there is none.

:func:`open_engines` gives one :class:`Engine` per name, or a :class:`Broken` one saying why it
cannot run; :meth:`Engine.run` opens a page and gives back ``window.__result`` with the
engine's version.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.install import SetupError, Tools, apt_install

NAMES = ("chromium", "firefox", "webkit")
DRIVER = Path(__file__).resolve().parent / "drive.cjs"
TIMEOUT_S = int(os.environ.get("BROWSER_TIMEOUT", "600"))

FIREFOX = "/usr/bin/firefox-esr"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
# libwebkit2gtk-4.1-0's MiniBrowser (``dpkg -L libwebkit2gtk-4.1-0``), a dependency of
# webkit2gtk-driver.
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
XVFB = "/usr/bin/Xvfb"
# What apt-get installs for each engine when its binaries are missing.
PACKAGES = {
    "chromium": (["chromium"], ["/usr/bin/chromium"]),
    "firefox": (["firefox-esr"], [FIREFOX]),
    "webkit": (["webkit2gtk-driver", "xvfb"], [WEBKIT_DRIVER, MINIBROWSER, XVFB]),
}
NOISE = ("DevTools listening", "dev-shm", "willReadFrequently", "Gtk-WARNING", "dbind-WARNING")


def parse_names(text: str) -> list[str]:
    """``BROWSERS=chromium,firefox,webkit`` as a list, in that order; ValueError otherwise."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise ValueError(f"BROWSERS={text!r}: name one or more of {', '.join(NAMES)}")
    return [n for n in NAMES if n in names]


def show_stderr(text: str, limit: int = 20) -> None:
    for line in text.splitlines()[:limit]:
        if line.strip() and not any(n in line for n in NOISE):
            print(f"  {line}", file=sys.stderr)


@dataclass
class Engine:
    """One engine, ready to open pages. ``label`` names it in verdict lines: ``firefox``
    (``firefox resistFingerprinting`` for a variant); ``version`` is known after a page ran."""

    name: str
    tools: Tools
    executable: str
    prefs: dict[str, Any] = field(default_factory=dict)
    variant: str = ""
    version: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.variant}".strip()

    @property
    def title(self) -> str:
        """``firefox 153.8.0``: the engine and the version measured."""
        return f"{self.label} {self.version or '(version unknown)'}"

    def with_prefs(self, variant: str, prefs: dict[str, Any]) -> Engine:
        return Engine(self.name, self.tools, self.executable, prefs, variant, self.version)

    def run(self, url: str, network: bool = True) -> dict[str, Any]:
        """Open ``url``, wait for ``window.__result`` and give it back, with ``version``.
        ``network=False``: without the driver's network events, so that the browser keeps no
        response bodies for it (drive.cjs; WebKit's WebDriver has none to turn off)."""
        result = self._puppeteer(url, network)
        if "error" not in result and result.get("version"):
            self.version = str(result["version"])
        return result

    def close(self) -> None:
        return None

    def _puppeteer(self, url: str, network: bool = True) -> dict[str, Any]:
        options = {
            "engine": self.name,
            "executablePath": self.executable,
            "prefs": self.prefs,
            "network": network,
        }
        argv = [str(self.tools.node), str(DRIVER), url, json.dumps(options), str(TIMEOUT_S * 1000)]
        env = {"NODE_PATH": str(self.tools.node_modules), "PATH": "/usr/bin:/bin"}
        if self.name == "firefox":
            env["HOME"] = tempfile.gettempdir()  # firefox-esr wants a home for its caches
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=env,
                stdin=subprocess.DEVNULL,
                timeout=TIMEOUT_S + 120,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"the driver took more than {TIMEOUT_S + 120} s"}
        show_stderr(done.stderr)
        try:
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": f"no result from the browser driver (exit {done.returncode})"}
        return result if isinstance(result, dict) else {"error": "the driver printed no object"}


class WebDriverError(Exception):
    pass


class WebKit(Engine):
    """WebKitGTK's MiniBrowser through WebKitWebDriver: one driver for the whole check, one
    session per page, and an Xvfb display when there is none."""

    def __init__(self, tools: Tools) -> None:
        super().__init__("webkit", tools, MINIBROWSER)
        self._driver: subprocess.Popen[bytes] | None = None
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._display = os.environ.get("DISPLAY", "")
        self._base = ""
        self._log = tools.node_modules.parent / "webkitwebdriver.log"

    def start(self) -> None:
        """Start Xvfb (when there is no display) and WebKitWebDriver; SetupError if either
        does not come up."""
        if not self._display:
            self._display = self._start_xvfb()
        port = free_port()
        env = {**os.environ, "DISPLAY": self._display}
        with self._log.open("ab") as log:  # the driver keeps its own copy of the descriptor
            self._driver = subprocess.Popen(
                [WEBKIT_DRIVER, f"--port={port}", "--host=local"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self._base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                self._call("GET", "/status", timeout=2)
                return
            except (OSError, WebDriverError):
                if self._driver.poll() is not None:
                    break
                time.sleep(0.1)
        raise SetupError(f"WebKitWebDriver did not answer on {self._base} (log: {self._log})")

    def _start_xvfb(self) -> str:
        for number in range(90, 140):
            if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
                continue
            proc = subprocess.Popen(
                [XVFB, f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(50):
                if Path(f"/tmp/.X11-unix/X{number}").exists():
                    self._xvfb = proc
                    print(f"browser: webkit: started Xvfb on display :{number}", file=sys.stderr)
                    return f":{number}"
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
            proc.kill()
            proc.wait()
        raise SetupError("Xvfb did not start (no free display :90 to :139)")

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 120
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self._base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                reply = json.loads(answer.read())
        except urllib.error.HTTPError as e:
            try:
                value = json.loads(e.read()).get("value", {})
                why = f"{value.get('error')}: {value.get('message')}"
            except (ValueError, AttributeError):
                why = f"HTTP {e.code}"
            raise WebDriverError(f"{method} {path}: {why}") from None
        return reply.get("value") if isinstance(reply, dict) else None

    def run(self, url: str, network: bool = True) -> dict[str, Any]:
        try:
            if self._driver is None:
                self.start()
            return self._session(url)
        except (OSError, WebDriverError, SetupError) as e:
            return {"error": f"driver: {e}"}

    def _session(self, url: str) -> dict[str, Any]:
        options = {"binary": MINIBROWSER, "args": ["--automation"]}
        caps = {"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": options}}}
        session = self._call("POST", "/session", caps)
        sid = session["sessionId"]
        self.version = str(session.get("capabilities", {}).get("browserVersion", ""))
        try:
            self._call("POST", f"/session/{sid}/timeouts", {"script": 60_000})
            self._call("POST", f"/session/{sid}/url", {"url": url}, timeout=TIMEOUT_S)
            deadline = time.monotonic() + TIMEOUT_S
            script = {"script": "return window.__result === undefined ? null : window.__result"}
            while True:
                result = self._call("POST", f"/session/{sid}/execute/sync", {**script, "args": []})
                if result is not None:
                    break
                if time.monotonic() > deadline:
                    return {"error": f"driver: no result in {TIMEOUT_S} s"}
                time.sleep(0.2)
        finally:
            with contextlib.suppress(OSError, WebDriverError):
                self._call("DELETE", f"/session/{sid}", timeout=30)
        if not isinstance(result, dict):
            return {"error": "the page's result is not an object"}
        return {**result, "version": self.version}

    def close(self) -> None:
        for proc in (self._driver, self._xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._driver = self._xvfb = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def installed(name: str, folder: Path) -> None:
    """The engine's binaries, installed with apt-get when missing; SetupError otherwise."""
    packages, binaries = PACKAGES[name]
    if name == "chromium" and "CHROMIUM" in os.environ:
        return
    if not all(os.access(b, os.X_OK) for b in binaries):
        apt_install(packages, folder / "apt.log")
    missing = [b for b in binaries if not os.access(b, os.X_OK)]
    if missing:
        raise SetupError(f"{' '.join(missing)} missing after apt-get install {' '.join(packages)}")


@dataclass
class Broken:
    """An engine that cannot run here, and why."""

    name: str
    why: str

    @property
    def label(self) -> str:
        return self.name


def open_engines(names: list[str], tools: Tools, folder: Path) -> list[Engine | Broken]:
    """Each engine ready to run, or Broken (with ``browser: ERROR <engine>: <why>`` printed)."""
    found: list[Engine | Broken] = []
    for name in names:
        try:
            installed(name, folder)
            if name == "chromium":
                found.append(Engine(name, tools, str(tools.chromium)))
            elif name == "firefox":
                found.append(Engine(name, tools, FIREFOX))
            else:
                found.append(WebKit(tools))
        except SetupError as e:
            print(f"browser: ERROR {name}: {e}")
            found.append(Broken(name, str(e)))
    return found
