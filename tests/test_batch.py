"""Batch rendering: parallel scenes, a table and exit codes, up-to-date outputs skipped, clean Ctrl-C."""
import os
import signal

import pytest
from click.testing import CliRunner

from animopt import batch, encode
from animopt.batch import CACHE, Progress, render_many
from animopt.cli import main

SCENE = """
title = "{name}"
seed = 5
[problem]
type = "line"
{data}
[train]
steps = 20
init = [0.0, 0.0]
[[optimizer]]
type = "sgd"
lr = 0.01
[render]
views = ["fit_line"]
size = [96, 64]
fps = 10
frames = {frames}
formats = ["mp4"]
"""

SYNTHETIC = "a = 2.0\nb = 1.0\nn = 8"


def write_scene(folder, name, frames=8, data=SYNTHETIC):
    path = folder / f"{name}.toml"
    path.write_text(SCENE.format(name=name, data=data, frames=frames))
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def leftovers(folder):
    return [p.name for p in folder.iterdir() if ".partial-" in p.name or ".palette-" in p.name]


def test_one_bad_scene_does_not_stop_the_others(tmp_path):
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    write_scene(src, "a")
    write_scene(src, "b")
    (src / "bad.toml").write_text(SCENE.format(name="bad", data=SYNTHETIC, frames=8).replace("lr = 0.01", "lr = -1"))
    res = run("render", src, "-o", out, "-j", 2, "-q")
    assert res.exit_code == 2, res.output               # only bad input failed
    lines = res.output.splitlines()
    assert any("a.toml" in ln and "rendered" in ln for ln in lines)
    assert any("b.toml" in ln and "rendered" in ln for ln in lines)
    assert any("bad.toml" in ln and "failed" in ln and "optimizer[0].lr" in ln for ln in lines)
    assert "2 rendered" in lines[-1] and "1 failed" in lines[-1]
    assert (out / "a.mp4").stat().st_size > 0 and (out / "b.mp4").stat().st_size > 0
    assert not (out / "bad.mp4").exists()


def test_other_failures_exit_1(tmp_path, monkeypatch):
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    write_scene(src, "a")
    (src / "bad.toml").write_text("title = ")
    monkeypatch.setattr(encode, "ffmpeg_exe", lambda: "false")     # ffmpeg fails on every scene
    res = run("render", src, "-o", out, "-j", 1, "-q")
    assert res.exit_code == 1, res.output
    assert "TOML syntax error" in res.output and "ffmpeg" in res.output
    assert leftovers(out) == []


def test_skip_when_up_to_date(tmp_path):
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    (src / "pts.csv").write_text("x,y\n0,1\n1,3\n2,5\n3,7.5\n")
    a = write_scene(src, "a", data='csv = "pts.csv"')
    write_scene(src, "b")
    assert render_many([a, src / "b.toml"], out, jobs=1) == 0
    assert (out / CACHE).exists()
    stamp = {p: (out / p).stat().st_mtime_ns for p in ("a.mp4", "b.mp4")}

    def statuses(*args):
        res = run("render", src, "-o", out, "-j", 1, "-q", *args)
        assert res.exit_code == 0, res.output
        return {ln.split()[0].rsplit("/", 1)[-1]: ln.split()[1] for ln in res.output.splitlines()[:-1]}

    assert statuses() == {"a.toml": "skipped", "b.toml": "skipped"}
    assert all((out / p).stat().st_mtime_ns == t for p, t in stamp.items())
    assert statuses("--force") == {"a.toml": "rendered", "b.toml": "rendered"}
    # the data file a scene reads is part of what made its output
    (src / "pts.csv").write_text("x,y\n0,1\n1,3\n2,5\n3,8\n")
    assert statuses() == {"a.toml": "rendered", "b.toml": "skipped"}
    # so is the scene itself, and each format separately
    write_scene(src, "b", frames=9)
    assert statuses() == {"a.toml": "skipped", "b.toml": "rendered"}
    assert statuses("-f", "mp4,png") == {"a.toml": "rendered", "b.toml": "rendered"}
    assert statuses("-f", "png") == {"a.toml": "skipped", "b.toml": "skipped"}
    # a missing or replaced output is rendered again
    (out / "a.mp4").unlink()
    (out / "b.mp4").write_bytes(b"not what we wrote")
    assert statuses() == {"a.toml": "rendered", "b.toml": "rendered"}


def test_ctrl_c_in_parallel_keeps_finished_files_only(tmp_path, monkeypatch):
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    (out / "slow1.mp4").write_bytes(b"previous good file")
    # slow enough that a slow scene is still being drawn when the quick one has finished, on a busy machine
    files = [write_scene(src, "quick", frames=3), write_scene(src, "slow1", frames=4000),
             write_scene(src, "slow2", frames=4000), write_scene(src, "slow3", frames=4000)]
    frames = Progress.frames

    def interrupt(self, index, i, n):      # the parent is told of frames of a long scene: Ctrl-C
        frames(self, index, i, n)
        if n == 4000 and i >= 5 and self.done >= 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Progress, "frames", interrupt)
    # Python leaves SIGINT ignored when it starts so (a background job: `nohup ... &`): a terminal's Ctrl-C
    # reaches a foreground animopt, so the test makes this process one that hears it
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = render_many(files, out, jobs=2)
    finally:
        signal.signal(signal.SIGINT, old)
    assert code == 130
    assert (out / "quick.mp4").stat().st_size > 0          # finished before the interrupt: it stays
    assert (out / "slow1.mp4").read_bytes() == b"previous good file"
    assert not (out / "slow2.mp4").exists() and not (out / "slow3.mp4").exists()
    assert leftovers(out) == []


def test_ctrl_c_in_one_process(tmp_path, monkeypatch, capsys):
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    files = [write_scene(src, "first", frames=3), write_scene(src, "second", frames=50),
             write_scene(src, "third", frames=3)]

    def interrupt(self, index, i, n):
        if n == 50 and i == 10:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "frames", interrupt)
    assert render_many(files, out, jobs=1) == 130
    table = capsys.readouterr().out
    assert "first.toml" in table and "interrupted" in table
    assert sorted(p.name for p in out.iterdir()) == sorted([CACHE, "first.mp4"])


@pytest.mark.parametrize("tty", [False, True])
def test_progress_bars(tty):
    class Stream:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

        def isatty(self):
            return tty

    s = Stream()
    bars = Progress(2, True, s)
    bars.start(0, "alpha")
    bars.frames(0, 5, 10)
    bars.finish(0)
    assert "alpha" in s.text and "1/2 scenes" in s.text
    assert ("\x1b[" in s.text) == tty
    quiet = Stream()
    Progress(2, False, quiet).start(0, "alpha")
    assert quiet.text == ""


def test_default_jobs_is_the_cores():
    assert batch.cores() >= 1


def test_temporary_files_of_killed_renders_are_removed(tmp_path):
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    stale = out / f".a.partial-{dead.pid}.mp4"
    mine = out / f".b.partial-{os.getpid()}.mp4"          # a live process's: left alone
    stale.write_bytes(b"half a file")
    mine.write_bytes(b"in progress")
    assert render_many([write_scene(src, "a")], out, jobs=1) == 0
    assert not stale.exists() and mine.exists()


def test_a_worker_that_dies_fails_its_scene_and_the_others_render(tmp_path, monkeypatch):
    """A worker killed mid-scene (out of memory, say) says nothing; the pool marks that scene failed."""
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    paths = [write_scene(src, name) for name in ("a", "b", "doomed")]
    real = batch.render_job

    def render_job(job, *args):
        if job.scene.stem == "doomed":
            os._exit(9)                     # in the forked worker
        return real(job, *args)

    monkeypatch.setattr(batch, "render_job", render_job)
    assert render_many(paths, out, jobs=2) == 1
    assert sorted(p.name for p in out.glob("*.mp4")) == ["a.mp4", "b.mp4"]

