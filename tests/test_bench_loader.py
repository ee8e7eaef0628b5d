"""The pure helpers of ``make bench``'s loader rows (tests/bench/loader.py): the process-tree
walk and the windows its memory samples are read in. The bench itself is never run here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.loader import (
    descendants,
    large_row,
    large_table,
    memory_of,
    mnist_row,
    mnist_table,
    parse_stat,
    tree_rss,
    vmrss_bytes,
)
from tests.browser.engines import Broken


def test_parse_stat_takes_the_parent_after_the_last_parenthesis() -> None:
    assert parse_stat("4242 (Web Content) S 4100 4242 4100 0 -1") == (4100, "Web Content")
    assert parse_stat("7 (a) b) (c) R 1 7 7 0") == (1, "a) b) (c")


def test_vmrss_in_bytes_and_zero_when_absent() -> None:
    status = "Name:\tchromium\nVmPeak:\t  900 kB\nVmRSS:\t  1536 kB\nThreads:\t9\n"
    assert vmrss_bytes(status) == 1536 * 1024
    assert vmrss_bytes("Name:\tkthreadd\nState:\tS (sleeping)\n") == 0


def test_descendants_walks_the_whole_tree_below_the_root_only() -> None:
    parents = {
        10: 1,  # the driver, child of the bench (1)
        11: 10, 12: 10, 13: 12, 14: 13,  # the browser and its processes, nested
        20: 2, 21: 20,  # another tree
        1: 0,
    }  # fmt: skip
    assert descendants(parents, 1) == {10, 11, 12, 13, 14}
    assert descendants(parents, 12) == {13, 14}
    assert descendants(parents, 14) == set()
    assert descendants({5: 6, 6: 5}, 5) == {6}  # a cycle (pids reused mid-walk) ends


def test_tree_rss_counts_a_child_and_its_child() -> None:
    code = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'input()'])"
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    try:
        for _ in range(200):  # until the grandchild has started
            with open(f"/proc/{child.pid}/task/{child.pid}/children") as f:
                if f.read().split():
                    break
            subprocess.run(["sleep", "0.02"], check=True)
        both = tree_rss(os.getpid())
        assert both >= 2 * 1024 * 1024  # two Pythons, a few MB each
        assert tree_rss(os.getpid(), skip_names=[os.path.basename(sys.executable)[:15]]) < both
    finally:
        child.communicate(b"\n", timeout=30)


def test_memory_windows() -> None:
    samples = [(t / 10, 100 + (50 if 20 <= t <= 30 else 0) + (20 if t == 25 else 0))
               for t in range(45)]  # fmt: skip
    m = memory_of(samples, start=2.0, end=3.0, after=1.0)
    assert (m.baseline, m.peak, m.held, m.samples) == (100, 70, 0, 11)
    assert memory_of(samples, start=1.0, end=2.0, after=1.0).held == 50
    with pytest.raises(ValueError, match="0 samples before"):
        memory_of(samples, start=0.0, end=1.0, after=0.0)


def test_an_engine_that_cannot_run_is_an_error_row() -> None:
    broken = Broken("webkit", "Xvfb did not start")
    mnist = mnist_row(broken, Path("mnist.json"), Path("s.png"), Path("labels"), 3)
    large = large_row(broken, Path("doodles.json"))
    for text in (mnist_table([mnist], 3), large_table([large])):
        row = text.splitlines()[-1]
        assert row.startswith("| webkit | ERROR: Xvfb did not start |")
        assert row.count("|") == text.splitlines()[0].count("|")
