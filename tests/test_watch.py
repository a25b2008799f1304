"""animopt watch: a still rewritten after each save of the scene or its data file; a bad edit is an error
line and the watch goes on; each round says how long it took; the simulation is reused when only the
picture changed."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from animopt.watch import has_watchfiles, watch

SCENE = """
[problem]
type = "line"
csv = "pts.csv"
[train]
steps = 15
[[optimizer]]
type = "sgd"
lr = 0.01
[render]
views = ["fit_line", "loss"]
size = [200, 120]
formats = ["png"]
"""


def wait_for(cond, timeout=60.0):
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        if cond():
            return True
        time.sleep(0.05)
    return False


def save(path: Path, text: str):
    """As an editor does: a new file renamed over the old one."""
    tmp = path.with_name(path.name + ".swp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.mark.parametrize("poll", [True, pytest.param(False, marks=pytest.mark.skipif(
    not has_watchfiles(), reason="watchfiles not installed"))], ids=["polling", "watchfiles"])
def test_watch_rewrites_the_still_on_every_save(tmp_path, poll):
    (tmp_path / "pts.csv").write_text("x,y\n0,1\n1,3\n2,5\n")
    scene, out = tmp_path / "w.toml", tmp_path / "w.png"
    scene.write_text(SCENE)
    lines, stop = [], threading.Event()
    t = threading.Thread(target=watch, args=(scene, out), kwargs=dict(echo=lines.append, stop=stop, poll=poll))
    t.start()
    try:
        assert wait_for(lambda: any("written in" in ln for ln in lines)), lines
        assert Image.open(out).size == (200, 120)
        n = len(lines)
        save(scene, SCENE.replace("size = [200, 120]", "size = [240, 120]"))          # the picture only
        assert wait_for(lambda: any("written in" in ln for ln in lines[n:])), lines
        assert "simulation reused from the cache" in lines[-1], lines
        assert Image.open(out).size == (240, 120)
        n = len(lines)
        save(scene, SCENE.replace("lr = 0.01", "lr = -1"))                            # a bad edit
        assert wait_for(lambda: len(lines) > n), lines
        assert "optimizer[0].lr" in lines[-1] and str(scene) in lines[-1], lines
        n = len(lines)
        (tmp_path / "pts.csv").write_text("x,y\n0,1\n1,3\n2,7\n")                    # the data file
        save(scene, SCENE)
        assert wait_for(lambda: any("written in" in ln for ln in lines[n:])), lines
        n = len(lines)
        (tmp_path / "pts.csv").write_text("x,y\n0,1\n1,3\n2,9\n")
        assert wait_for(lambda: any("written in" in ln for ln in lines[n:])), lines
        assert "reused" not in lines[-1]
        assert t.is_alive()
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()


def test_watch_command_in_a_process(tmp_path):
    """The command as a user runs it: starts, writes the still, rewrites it on a save, stops on SIGINT."""
    (tmp_path / "pts.csv").write_text("x,y\n0,1\n1,3\n2,5\n")
    scene, out = tmp_path / "w.toml", tmp_path / "w.png"
    scene.write_text(SCENE)
    p = subprocess.Popen([sys.executable, "-m", "animopt.cli", "watch", str(scene), "-o", str(out), "--poll"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        assert wait_for(out.exists, 120)
        first = out.stat().st_mtime_ns
        save(scene, SCENE.replace("fit_line", "params"))
        assert wait_for(lambda: out.stat().st_mtime_ns != first, 60)
    finally:
        p.send_signal(2)
        text = p.communicate(timeout=30)[0]
    assert "written in" in text and "watching" in text, text
