"""fetch against a real HTTP server on 127.0.0.1: every failure ends verified or in one line."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mnist_sprite import download
from mnist_sprite.cache import MARKER
from mnist_sprite.cli import cli
from mnist_sprite.datasets import FASHION_MNIST, SAMPLE, Dataset, SourceFile
from mnist_sprite.download import ensure_dataset, fetch_dataset
from mnist_sprite.errors import FetchError, IntegrityError, SourceError
from tests import pngkit
from tests.cli_kit import SAMPLE_LABELS, SAMPLE_SPRITE, one_line, run
from tests.conftest import REAL_SPRITE, needs_real
from tests.httpkit import Route, Server


@dataclass
class Files:
    dataset: Dataset
    sprite: bytes
    labels: bytes
    pixels: np.ndarray  # type: ignore[type-arg]


def make_files(name: str = "tiny") -> Files:
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (40, 16), dtype=np.uint8)
    sprite = pngkit.gray_png(pixels)
    labels = np.eye(10, dtype=np.uint8)[np.arange(40) % 10].tobytes()
    dataset = Dataset(
        name=name,
        sprite=SourceFile(
            "tiny_images.png",
            hashlib.sha256(sprite).hexdigest(),
            len(sprite),
            hashlib.sha256(pixels.tobytes()).hexdigest(),
        ),
        labels=SourceFile("tiny_labels_uint8", hashlib.sha256(labels).hexdigest(), len(labels)),
        images=40,
        train_size=30,
        image_size=(4, 4),
    )
    return Files(dataset, sprite, labels, pixels)


def copied_by_hand(folder: Path, files: Files) -> Path:
    """A folder holding the two files, as a user copies them for ``fetch --from``."""
    folder.mkdir()
    (folder / files.dataset.sprite.name).write_bytes(files.sprite)
    (folder / files.dataset.labels.name).write_bytes(files.labels)
    return folder


@pytest.fixture
def files() -> Files:
    return make_files()


def serve(server: Server, files: Files, prefix: str = "/data", **kw: object) -> str:
    server.routes[f"{prefix}/tiny_images.png"] = Route(files.sprite, **kw)  # type: ignore[arg-type]
    server.routes[f"{prefix}/tiny_labels_uint8"] = Route(files.labels, **kw)  # type: ignore[arg-type]
    return server.url + prefix


def fetch(files: Files, cache: Path, **kw: object) -> object:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", 5.0)
    return fetch_dataset(files.dataset, cache_dir=cache, **kw)  # type: ignore[arg-type]


def test_good_files_enter_the_cache_verified(server: Server, files: Files, tmp_path: Path) -> None:
    base = serve(server, files)
    result = fetch(files, tmp_path, mirrors=[base])
    folder = tmp_path / "tiny"
    assert (folder / "tiny_images.png").read_bytes() == files.sprite
    assert (folder / "tiny_labels_uint8").read_bytes() == files.labels
    assert result.downloaded == ["tiny_images.png", "tiny_labels_uint8"]  # type: ignore[attr-defined]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [".lock", MARKER, "tiny_images.png", "tiny_labels_uint8"]
    )


def test_second_fetch_downloads_nothing(server: Server, files: Files, tmp_path: Path) -> None:
    base = serve(server, files)
    fetch(files, tmp_path, mirrors=[base])
    hits = sum(server.hits.values())
    again = fetch(files, tmp_path, mirrors=[base])
    assert again.downloaded == [] and sum(server.hits.values()) == hits  # type: ignore[attr-defined]
    fetch(files, tmp_path, mirrors=[base], force=True)
    assert sum(server.hits.values()) == hits + 2


def test_dropped_connection_resumes_with_range(
    server: Server, files: Files, tmp_path: Path
) -> None:
    base = serve(server, files, drop_after=100)
    fetch(files, tmp_path, mirrors=[base])
    assert server.range_hits["/data/tiny_images.png"] == 1
    assert (tmp_path / "tiny" / "tiny_images.png").read_bytes() == files.sprite


def test_server_without_range_support_gets_a_fresh_download(
    server: Server, files: Files, tmp_path: Path
) -> None:
    base = serve(server, files, drop_after=100, ranges=False)
    fetch(files, tmp_path, mirrors=[base])
    assert server.range_hits["/data/tiny_images.png"] == 0
    assert server.hits["/data/tiny_images.png"] == 2
    assert (tmp_path / "tiny" / "tiny_images.png").read_bytes() == files.sprite


def test_html_page_with_status_200_is_refused(server: Server, files: Files, tmp_path: Path) -> None:
    page = b"<!DOCTYPE html><html><body>Sign in</body></html>"
    server.routes["/html/tiny_images.png"] = Route(page, content_type="text/plain")
    server.routes["/html/tiny_labels_uint8"] = Route(page, content_type="text/html")
    with pytest.raises(FetchError) as info:
        fetch(files, tmp_path, mirrors=[server.url + "/html"], retries=0)
    assert "HTML page" in str(info.value)
    assert not (tmp_path / "tiny" / "tiny_images.png").exists()


def test_png_with_one_wrong_pixel_is_refused(server: Server, files: Files, tmp_path: Path) -> None:
    wrong = files.pixels.copy()
    wrong[3, 3] ^= 1
    server.routes["/bad/tiny_images.png"] = Route(pngkit.gray_png(wrong))
    with pytest.raises(FetchError, match=r"pixels are not those of tiny_images\.png"):
        fetch(files, tmp_path, mirrors=[server.url + "/bad"])
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == [".lock"]


def test_reencoded_png_with_the_same_pixels_is_accepted(
    server: Server, files: Files, tmp_path: Path
) -> None:
    other = pngkit.refilter(files.sprite, pngkit.PAETH, level=1)
    assert other != files.sprite
    server.routes["/re/tiny_images.png"] = Route(other)
    server.routes["/re/tiny_labels_uint8"] = Route(files.labels)
    fetch(files, tmp_path, mirrors=[server.url + "/re"])
    assert (tmp_path / "tiny" / "tiny_images.png").read_bytes() == other


def test_404_fails_at_once_and_500_is_retried(server: Server, files: Files, tmp_path: Path) -> None:
    base = serve(server, files, status=[500, 503])
    fetch(files, tmp_path, mirrors=[server.url + "/missing", base])
    assert server.hits["/missing/tiny_images.png"] == 1  # a 404 is not retried
    assert server.hits["/data/tiny_images.png"] == 3  # 500, 503, then the file


def test_stalled_server_times_out_then_next_source(
    server: Server, files: Files, tmp_path: Path
) -> None:
    stalled = serve(server, files, prefix="/stall", stall=2.0)
    good = serve(server, files)
    started = time.monotonic()
    result = fetch(files, tmp_path, mirrors=[stalled, good], timeout=0.3, retries=1)
    assert result.sources["sprite"].startswith(good)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 10


def test_all_sources_failing_lists_each(server: Server, files: Files, tmp_path: Path) -> None:
    serve(server, files, prefix="/err", status=[500] * 10)
    with pytest.raises(FetchError) as info:
        fetch(files, tmp_path, mirrors=[server.url + "/nope", server.url + "/err"], retries=1)
    text = str(info.value)
    assert text.startswith("tiny_images.png: could not download from any source (")
    assert f"{server.url}/nope/tiny_images.png: HTTP 404" in text
    assert f"{server.url}/err/tiny_images.png: HTTP 500" in text
    assert "https://storage.googleapis.com/" in text  # the official URL is tried last
    assert "\n" not in text


def test_offline_works_from_a_complete_cache_only(
    server: Server, files: Files, tmp_path: Path
) -> None:
    with pytest.raises(FetchError, match="--offline forbids downloading"):
        fetch(files, tmp_path, offline=True)
    fetch(files, tmp_path, mirrors=[serve(server, files)])
    hits = sum(server.hits.values())
    assert fetch(files, tmp_path, offline=True).downloaded == []  # type: ignore[attr-defined]
    assert ensure_dataset(files.dataset, cache_dir=tmp_path, offline=True)["labels"].is_file()
    assert sum(server.hits.values()) == hits


def test_from_a_folder_or_a_file(files: Files, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "tiny_images.png").write_bytes(files.sprite)
    (usb / "tiny_labels_uint8").write_bytes(files.labels)
    fetch(files, tmp_path / "a", from_path=usb)
    assert (tmp_path / "a" / "tiny" / "tiny_labels_uint8").read_bytes() == files.labels
    renamed = tmp_path / "digits.png"
    renamed.write_bytes(files.sprite)
    with pytest.raises(FetchError, match="holds no tiny_labels_uint8"):
        fetch(files, tmp_path / "b", from_path=renamed)
    assert (tmp_path / "b" / "tiny" / "tiny_images.png").read_bytes() == files.sprite


def test_from_holding_only_the_label_file_imports_it(files: Files, tmp_path: Path) -> None:
    """As for the sprite alone: the file --from holds is verified and imported, and the error
    names it (it was imported nothing, in silence, before)."""
    given = tmp_path / "labels.bin"
    given.write_bytes(files.labels)
    with pytest.raises(FetchError, match=r"holds no tiny_images\.png.*imported tiny_labels_uint8"):
        fetch(files, tmp_path / "c", from_path=given)
    assert (tmp_path / "c" / "tiny" / "tiny_labels_uint8").read_bytes() == files.labels


def test_a_corrupt_cached_file_is_not_trusted(server: Server, files: Files, tmp_path: Path) -> None:
    base = serve(server, files)
    fetch(files, tmp_path, mirrors=[base])
    labels = tmp_path / "tiny" / "tiny_labels_uint8"
    labels.write_bytes(files.labels[:-10] + bytes(10))
    result = fetch(files, tmp_path, mirrors=[base])
    assert result.downloaded == ["tiny_labels_uint8"]  # type: ignore[attr-defined]
    assert labels.read_bytes() == files.labels


CHILD = """
import json, sys
from mnist_sprite.datasets import Dataset, SourceFile
from mnist_sprite.download import fetch_dataset
spec = json.loads(sys.argv[1])
ds = Dataset(spec["name"], SourceFile(**spec["sprite"]), SourceFile(**spec["labels"]),
             spec["images"], spec["train_size"], tuple(spec["image_size"]))
r = fetch_dataset(ds, cache_dir=sys.argv[2], sprite_url=sys.argv[3], labels_url=sys.argv[4],
                  backoff=0.01)
print(json.dumps(r.downloaded))
"""


def child(files: Files, cache: Path, base: str) -> subprocess.Popen[bytes]:
    import dataclasses

    spec = json.dumps(dataclasses.asdict(files.dataset))
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            spec,
            str(cache),
            f"{base}/tiny_images.png",
            f"{base}/tiny_labels_uint8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_four_parallel_fetches_download_each_file_once(
    server: Server, files: Files, tmp_path: Path
) -> None:
    base = serve(server, files, slow=0.01)
    procs = [child(files, tmp_path, base) for _ in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert server.hits["/data/tiny_images.png"] == 1
    assert server.hits["/data/tiny_labels_uint8"] == 1
    assert sorted(json.loads(o) for o, _ in outs) == [
        [],
        [],
        [],
        ["tiny_images.png", "tiny_labels_uint8"],
    ]


def test_download_killed_with_sigkill_resumes_and_is_verified(
    server: Server, tmp_path: Path
) -> None:
    big = make_files()
    rng = np.random.default_rng(9)
    pixels = rng.integers(0, 256, (20_000, 16), dtype=np.uint8)
    sprite = pngkit.gray_png(pixels, level=0)
    big.dataset = Dataset(
        "tiny",
        SourceFile(
            "tiny_images.png",
            hashlib.sha256(sprite).hexdigest(),
            len(sprite),
            hashlib.sha256(pixels.tobytes()).hexdigest(),
        ),
        big.dataset.labels,
        20_000,
        10_000,
    )
    big.sprite = sprite
    base = serve(server, big, slow=0.02)
    proc = child(big, tmp_path, base)
    part = tmp_path / "tiny" / "tiny_images.png.part"
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 32768):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert not (tmp_path / "tiny" / "tiny_images.png").exists()  # never the partial file
    server.routes["/data/tiny_images.png"].slow = 0
    rerun = child(big, tmp_path, base)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert server.range_hits["/data/tiny_images.png"] == 1
    assert (tmp_path / "tiny" / "tiny_images.png").read_bytes() == sprite
    assert not part.exists()


def test_cli_prints_paths_and_json(server: Server, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["fetch", "--dataset", "sample", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].endswith("sample_images.png")
    result = runner.invoke(cli, ["fetch", "--dataset", "sample", "--json", "-q"])
    assert json.loads(result.stdout)["sources"] == {"sprite": "bundled", "labels": "bundled"}


def test_cli_offline_with_empty_cache_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["fetch", "--offline", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {tmp_path}/mnist/mnist_images.png: not in the cache")


def test_cli_all_options(server: Server, tmp_path: Path) -> None:
    # mnist's real digests cannot be served here, so every source must fail verification.
    server.routes["/m/mnist_images.png"] = Route(b"\x89PNG\r\n\x1a\n broken")
    args = [
        "fetch",
        "--dataset",
        "mnist",
        "--cache-dir",
        str(tmp_path),
        "--url",
        server.url + "/m/mnist_images.png",
        "--labels-url",
        server.url + "/m/labels",
        "--mirror",
        server.url,
        "--timeout",
        "2",
        "--retries",
        "0",
        "--force",
        "--quiet",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "could not download from any source" in result.stderr
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [".lock"]
    result = CliRunner().invoke(
        cli, ["fetch", "--from", str(tmp_path / "none"), "--cache-dir", str(tmp_path)]
    )
    assert result.exit_code == 1 and f"{tmp_path / 'none'}: no such file" in result.stderr


class FakeMsvcrt:
    """Windows' msvcrt.locking on Linux: byte-range locks as flock, and LK_LOCK's give-up."""

    LK_UNLCK, LK_LOCK = 0, 1

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int]] = []
        self.give_up_once = True

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        import fcntl

        self.calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
        if mode == self.LK_LOCK and self.give_up_once:  # LK_LOCK fails after ~10 s of waiting
            self.give_up_once = False
            raise OSError(36, "Resource deadlock avoided")
        fcntl.flock(fd, fcntl.LOCK_EX if mode == self.LK_LOCK else fcntl.LOCK_UN)


def test_lock_without_fcntl_uses_msvcrt_and_still_serializes(
    server: Server, files: Files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnist_sprite import download

    fake = FakeMsvcrt()
    monkeypatch.setattr(download, "LOCK_KIND", "msvcrt")
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    base = serve(server, files, slow=0.002)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            fetch(files, tmp_path, mirrors=[base])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert server.hits["/data/tiny_images.png"] == 1 and server.hits["/data/tiny_labels_uint8"] == 1
    locks = [c for c in fake.calls if c[0] == FakeMsvcrt.LK_LOCK]
    unlocks = [c for c in fake.calls if c[0] == FakeMsvcrt.LK_UNLCK]
    assert len(locks) == 4 and len(unlocks) == 3  # one give-up retried; every lock released
    assert all(offset == 0 and n == 1 for _, offset, n in fake.calls)  # byte 0, always


def test_nothing_posix_only_is_needed_to_import_or_load(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['fcntl'] = None\n"  # as on Windows: import fcntl fails
        "import mnist_sprite, mnist_sprite.cli, mnist_sprite.download\n"
        "(x, y), _ = mnist_sprite.load_data('sample'); print(x.shape)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(800, 784)"


def test_fetch_of_the_bundled_sample_says_it_is_bundled() -> None:
    from click.testing import CliRunner

    from mnist_sprite.cli import cli

    result = CliRunner().invoke(cli, ["fetch", "--dataset", "sample"])
    assert result.exit_code == 0
    assert "bundled with mnist-sprite, not cached" in result.stderr
    assert "cache is complete" not in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "where"),
    [
        (["--mirror", "notaurl"], {}, "--mirror 'notaurl'"),
        (["--url", "mnist_images.png"], {}, "--url 'mnist_images.png'"),
        ([], {"MNIST_SPRITE_MIRRORS": "example.org/mnist/"}, "MNIST_SPRITE_MIRRORS"),
    ],
)
def test_a_url_that_is_not_a_url(
    tmp_path: Path, args: list[str], env: dict[str, str], where: str
) -> None:
    """URLs that are not URLs."""
    code, stdout, stderr = run("fetch", "--cache-dir", str(tmp_path), *args, env=env)
    assert (code, stdout) == (2, "")
    one_line(stderr, where, "is not an http:// or https:// URL")


def test_from_into_an_empty_cache_says_it_imported(tmp_path: Path) -> None:
    """Fetch --from, and a damaged cache."""
    files = make_files()
    source = copied_by_hand(tmp_path / "usb", files)
    result = fetch_dataset(files.dataset, cache_dir=tmp_path / "cache", from_path=source)
    assert result.imported == ["tiny_images.png", "tiny_labels_uint8"]
    assert result.downloaded == []
    assert result.describe() == "imported tiny_images.png, tiny_labels_uint8"
    assert result.summary()["imported"] == ["tiny_images.png", "tiny_labels_uint8"]
    again = fetch_dataset(files.dataset, cache_dir=tmp_path / "cache")
    assert again.describe() == "nothing to do: the cache is complete and verified"


@needs_real
def test_cli_from_a_folder_reports_the_import(tmp_path: Path) -> None:
    """Fetch --from, and a damaged cache."""
    code, stdout, stderr = run(
        "fetch", "--cache-dir", str(tmp_path), "--from", str(REAL_SPRITE.parent), "--json"
    )
    assert code == 0, stderr
    assert json.loads(stdout)["imported"] == ["mnist_images.png", "mnist_labels_uint8"]


def test_from_a_missing_path_is_refused_even_with_a_complete_cache(tmp_path: Path) -> None:
    """Fetch --from, and a damaged cache."""
    files = make_files()
    source = copied_by_hand(tmp_path / "usb", files)
    fetch_dataset(files.dataset, cache_dir=tmp_path / "cache", from_path=source)
    for cache in (tmp_path / "cache", tmp_path / "empty"):
        with pytest.raises(SourceError, match="/nonexistent/dir: no such file or folder"):
            fetch_dataset(files.dataset, cache_dir=cache, from_path="/nonexistent/dir")
    code, _, stderr = run("fetch", "--cache-dir", str(tmp_path), "--from", "/nonexistent/dir")
    assert code == 1
    one_line(stderr, "/nonexistent/dir: no such file or folder")


@pytest.mark.parametrize("damage", ["flipped byte", "wrong pixels"])
def test_offline_with_a_damaged_cached_file_says_so(tmp_path: Path, damage: str) -> None:
    """Fetch --from, and a damaged cache."""
    from tests import pngkit

    files = make_files()
    source = copied_by_hand(tmp_path / "usb", files)
    cache = tmp_path / "cache"
    fetch_dataset(files.dataset, cache_dir=cache, from_path=source)
    cached = cache / "tiny" / files.dataset.sprite.name
    if damage == "flipped byte":
        data = bytearray(files.sprite)
        data[len(data) // 2] ^= 0xFF
        cached.write_bytes(bytes(data))
    else:
        pixels = files.pixels.copy()
        pixels[0, 0] ^= 1
        cached.write_bytes(pngkit.gray_png(pixels))
    with pytest.raises(FetchError) as info:
        fetch_dataset(files.dataset, cache_dir=cache, offline=True)
    message = str(info.value)
    assert "is in the cache but fails verification" in message
    assert "--force" in message and "not in the cache" not in message


def test_unknown_host_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that does not exist is not retried; a wait is announced."""

    def no_such_host(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    files = make_files()
    with pytest.raises(FetchError, match="the host name does not resolve"):
        fetch_dataset(
            files.dataset, cache_dir=tmp_path, sprite_url="http://no.such.host.invalid/x.png"
        )
    assert slept == []


def test_a_retry_is_announced_on_stderr(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A host that does not exist is not retried; a wait is announced."""
    files: Files = make_files()
    base = serve(server, files)
    server.routes["/data/tiny_images.png"] = Route(files.sprite, status=[503])
    fetch_dataset(
        files.dataset, cache_dir=tmp_path, mirrors=[base], backoff=0.01, show_progress=True
    )
    assert "retrying in" in capsys.readouterr().err


def test_fetch_from_onto_a_full_disk_leaves_nothing_and_names_the_cache_file(
    tmp_path: Path,
) -> None:
    """Fetch --from and closed pipes."""
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    given = tmp_path / "given"
    given.mkdir()
    (given / "mnist_images.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(1000))
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    part = folder / "mnist_images.png.part"
    part.symlink_to("/dev/full")  # every write to the copy fails with ENOSPC
    args = ["fetch", "--cache-dir", str(tmp_path / "cache"), "--from", str(given)]
    code, _, err = run(*args)
    assert code == 1 and err.count("\n") == 1, err
    assert "mnist_images.png: cannot write" in err and "free some space" in err
    assert str(given) not in err
    assert not part.exists() and not part.is_symlink()


def test_the_samples_files_renamed_are_not_fashion_mnist(tmp_path: Path) -> None:
    """A file that is another known dataset's is refused by name."""
    usb = tmp_path / "usb"
    usb.mkdir()
    shutil.copy(SAMPLE_SPRITE, usb / FASHION_MNIST.sprite.name)
    shutil.copy(SAMPLE_LABELS, usb / FASHION_MNIST.labels.name)
    code, _, stderr = run("fetch", "--dataset", "fashion-mnist", "--from", str(usb), cache=tmp_path)
    assert code == 1
    one_line(stderr, "is sample's sample_images.png (by its sha256), not fashion_mnist_images.png")
    assert not (tmp_path / "fashion-mnist" / FASHION_MNIST.sprite.name).exists()


def test_a_cache_that_recorded_another_datasets_file_is_refused(tmp_path: Path) -> None:
    """A file that is another known dataset's is refused by name."""
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    marker = {}
    for role, spec in FASHION_MNIST.roles():
        mine = SAMPLE_SPRITE if role == "sprite" else SAMPLE_LABELS
        target = folder / spec.name
        shutil.copy(mine, target)
        st = target.stat()
        sha = SAMPLE.sprite.sha256 if role == "sprite" else SAMPLE.labels.sha256
        marker[spec.name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
    (folder / MARKER).write_text(json.dumps(marker))  # as a fetch before this check recorded
    with pytest.raises(FetchError, match=r"is sample's sample_images\.png"):
        fetch_dataset(FASHION_MNIST, cache_dir=tmp_path, offline=True)
    code, stdout, _ = run("verify", "--dataset", "fashion-mnist", "--cache-dir", str(tmp_path))
    assert code == 1
    assert (
        "FAIL  sprite pixels: is sample's sample_images.png (by its sha256), not "
        "fashion-mnist's fashion_mnist_images.png" in stdout
    ), stdout
    assert "FAIL  labels digest: is sample's sample_labels_uint8" in stdout


def test_a_complete_cache_is_read_without_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A complete read-only cache needs no lock."""
    files = make_files()
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / files.dataset.sprite.name).write_bytes(files.sprite)
    (usb / files.dataset.labels.name).write_bytes(files.labels)
    fetch_dataset(files.dataset, cache_dir=tmp_path, from_path=usb)

    def no_lock(folder: Path) -> object:
        raise PermissionError(13, "Permission denied", str(folder / ".lock"))

    monkeypatch.setattr(download, "_locked", no_lock)  # as a read-only shared cache is
    result = fetch_dataset(files.dataset, cache_dir=tmp_path, offline=True)
    assert result.sources == {"sprite": "cache", "labels": "cache"}
    assert download.ensure_dataset(files.dataset, cache_dir=tmp_path) == result.paths


def test_from_a_wrong_file_is_an_error_even_with_a_complete_cache(tmp_path: Path) -> None:
    """Fetch --from checks what it is given; a partial import is said."""
    files = make_files()
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / files.dataset.sprite.name).write_bytes(files.sprite)
    (usb / files.dataset.labels.name).write_bytes(files.labels)
    fetch_dataset(files.dataset, cache_dir=tmp_path, from_path=usb)
    text = tmp_path / "t.txt"
    text.write_text("hello\n")
    with pytest.raises(IntegrityError, match=r"t\.txt: is a text file, not tiny_labels_uint8"):
        fetch_dataset(files.dataset, cache_dir=tmp_path, from_path=text)
    labels = tmp_path / "tiny" / files.dataset.labels.name
    assert labels.read_bytes() == files.labels  # the cache is untouched


def test_from_a_folder_with_only_the_sprite_says_what_it_imported(tmp_path: Path) -> None:
    """Fetch --from checks what it is given; a partial import is said."""
    files = make_files()
    usb = tmp_path / "only_png"
    usb.mkdir()
    (usb / files.dataset.sprite.name).write_bytes(files.sprite)
    with pytest.raises(FetchError) as info:
        fetch_dataset(files.dataset, cache_dir=tmp_path / "c", from_path=usb)
    assert "holds no tiny_labels_uint8, and the cache has no good copy" in str(info.value)
    assert "(imported tiny_images.png)" in str(info.value)


def test_from_one_file_still_lists_the_sprite_first(files: Files, tmp_path: Path) -> None:
    """The paths are the dataset's order, whichever file --from imported first."""
    cache = tmp_path / "cache"
    fetch(files, cache, from_path=copied_by_hand(tmp_path / "usb", files))
    labels = tmp_path / "usb" / files.dataset.labels.name
    result = fetch(files, cache, from_path=labels)
    assert result.imported == [files.dataset.labels.name]  # type: ignore[attr-defined]
    assert list(result.paths) == ["sprite", "labels"]  # type: ignore[attr-defined]


@needs_real
def test_cli_fetch_from_the_label_file_prints_the_sprite_first(tmp_path: Path) -> None:
    assert run("fetch", "--from", str(REAL_SPRITE.parent), "-q", cache=tmp_path)[0] == 0
    code, stdout, stderr = run(
        "fetch", "--from", str(REAL_SPRITE.parent / "mnist_labels_uint8"), "-q", cache=tmp_path
    )
    assert code == 0, stderr
    assert [Path(line).name for line in stdout.splitlines()] == [
        "mnist_images.png",
        "mnist_labels_uint8",
    ]


def test_from_an_npz_says_what_it_is_and_what_from_expects(files: Files, tmp_path: Path) -> None:
    archive = tmp_path / "mnist.npz"
    np.savez(archive, x_train=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(IntegrityError) as info:
        fetch(files, tmp_path / "c", from_path=archive)
    assert str(info.value).startswith(f"{archive}: is an .npz archive (numpy arrays), not ")
    assert "tiny_labels_uint8 (a label file of one-hot bytes)" in str(info.value)
    assert "give tiny_labels_uint8 itself" in info.value.fix
    assert "sha256" not in str(info.value)
    assert not (tmp_path / "c" / "tiny" / "tiny_labels_uint8").exists()


def test_from_a_folder_for_the_bundled_sample_is_checked(tmp_path: Path) -> None:
    """The sample is bundled, so nothing is imported; but what --from names is still checked."""
    empty = tmp_path / "badfolder"
    empty.mkdir()
    code, stdout, stderr = run("fetch", "--dataset", "sample", "--from", str(empty))
    assert (code, stdout) == (1, "")
    one_line(stderr, f"{empty}: holds no sample_images.png or sample_labels_uint8")
    wrong = tmp_path / "usb"
    wrong.mkdir()
    (wrong / "sample_labels_uint8").write_bytes(bytes(10_000))
    code, stdout, stderr = run("fetch", "--dataset", "sample", "--from", str(wrong))
    assert (code, stdout) == (1, "")
    one_line(stderr, "sample_labels_uint8: sha256")
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(SAMPLE_LABELS, good / "sample_labels_uint8")
    code, stdout, stderr = run("fetch", "--dataset", "sample", "--from", str(good))
    assert code == 0, stderr
    assert f"{good / 'sample_labels_uint8'} equal its files" in stderr


def test_ctrl_c_mid_download_says_what_it_kept_and_that_the_next_fetch_resumes(
    server: Server, tmp_path: Path
) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB, served slowly: still downloading at the signal
    server.routes["/m/mnist_images.png"] = Route(body, slow=0.02)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mnist_sprite",
            "fetch",
            "--url",
            f"{server.url}/m/mnist_images.png",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MNIST_SPRITE_CACHE": str(tmp_path)},
    )
    part = tmp_path / "mnist" / "mnist_images.png.part"
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 8192):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stdout) == (1, b"")
    size = part.stat().st_size
    assert stderr.decode() == (
        f"error: interrupted; kept the partial download {part} ({size:,} bytes), which the "
        "next fetch resumes; nothing else was written\n"
    )
    assert not (tmp_path / "mnist" / "mnist_images.png").exists()
