"""Many scenes at once: parallel worker processes, up-to-date outputs skipped, progress bars, a table.

Each output file's entry in `<output>/.animopt-cache.json` records a hash of what made it: the scene
file's bytes, the data files its problem reads, the format, the device override and the animopt
version. A scene whose outputs all match is skipped (`force` re-renders). Only this process writes
the cache, after each scene, so an interrupted batch keeps what it finished.

Exit code of `render_many`: 0 when nothing failed, 2 when only bad input failed (a scene that does
not validate), 1 when anything else failed, 130 when interrupted (Ctrl-C: the scenes being rendered
stop and leave no partial file; the finished files stay).
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click

from .scene import Scene, load_scene
from .spec import SceneError

CACHE = ".animopt-cache.json"


@dataclass
class Job:
    index: int
    scene: Path
    formats: tuple[str, ...]          # the formats to render (those not up to date)
    keys: dict[str, str]              # output file name -> hash of what makes it
    overrides: tuple[str, ...] = ()   # --set key.path=value, applied to the scene
    spec: Scene | None = None         # the Scene, parsed once here (workers receive it pickled)
    cache: bool = True                # the simulation cache (animopt.cache)


@dataclass
class Result:
    scene: Path
    status: str                       # rendered, skipped, failed, interrupted
    detail: str = ""
    seconds: float = 0.0
    bad_input: bool = False           # failed because the scene (or its data) is wrong
    files: tuple[str, ...] = field(default_factory=tuple)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------- cache

def data_files(scene: Scene) -> list[Path]:
    """Files the scene's problem reads: string values of its keys (e.g. csv, npz) naming a file
    relative to the scene."""
    found = []

    def walk(v):
        if isinstance(v, str):
            p = scene.base_dir / v
            if v and p.is_file():
                found.append(p)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict) or hasattr(v, "items"):
            for x in v.values():
                walk(x)

    walk(scene.problem.options if scene.problem else {})
    return sorted(set(found))


def output_key(scene: Scene, fmt: str, device: str | None = None) -> str:
    """A hash of everything an output depends on."""
    from . import __version__

    h = hashlib.sha256()
    parts = {"animopt": __version__, "scene": scene.digest, "format": fmt, "device": device,
             "data": {p.name: _file_hash(p) for p in data_files(scene)}}
    h.update(json.dumps(parts, sort_keys=True).encode())
    return h.hexdigest()


def _file_hash(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Cache:
    """`<output>/.animopt-cache.json`: output file name -> {key, size, scene}."""

    def __init__(self, folder: Path):
        self.path = folder / CACHE
        self.entries = self._read()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            return dict(data.get("outputs", {}))
        except (OSError, ValueError, AttributeError):
            return {}

    def fresh(self, out: Path, key: str) -> bool:
        e = self.entries.get(out.name)
        try:
            return bool(e) and e.get("key") == key and e.get("size") == out.stat().st_size
        except OSError:
            return False

    def record(self, out: Path, key: str, scene: Path) -> None:
        self.entries[out.name] = {"key": key, "size": out.stat().st_size, "scene": str(scene)}

    def save(self) -> None:
        """Merges with what another run may have written meanwhile, then replaces the file atomically."""
        merged = {**self._read(), **self.entries}
        tmp = self.path.with_name(f"{CACHE}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"version": 1, "outputs": merged}, indent=1, sort_keys=True) + "\n")
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------ one scene

def render_job(job: Job, output: Path, device: str | None,
               report: Callable[[int, int], None] | None = None) -> Result:
    """Renders one scene; every failure becomes a Result (an interrupt too)."""
    from .encode import EncodeError
    from .renderer import render

    t0 = time.perf_counter()

    def result(status, detail="", **kw):
        return Result(job.scene, status, detail, time.perf_counter() - t0, **kw)

    try:
        scene = job.spec if job.spec is not None else load_scene(job.scene, overrides=job.overrides)
        notes: list[str] = []         # what an encoder chose (a GIF under a size budget), one line each
        files = render(scene, output, formats=job.formats, device=device, progress=report, notes=notes.append,
                       cache=job.cache)
        names = tuple(f.name for f in files)
        reused = [n for n in notes if n.startswith("simulation reused")]
        first = ", ".join(names) + (" (simulation reused from the cache)" if reused else "")
        return result("rendered", "\n".join([first, *(n for n in notes if n not in reused)]), files=names)
    except SceneError as e:
        return result("failed", str(e), bad_input=True)
    except KeyboardInterrupt:
        return result("interrupted", "stopped; no partial file left")
    except EncodeError as e:
        return result("failed", str(e))
    except Exception as e:          # one scene's crash does not stop the others
        return result("failed", f"{type(e).__name__}: {e}")


# ------------------------------------------------------------------------------------- workers

def _interrupt_once(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not break the clean-up
    raise KeyboardInterrupt


def _worker(jobs, events, output: Path, device) -> None:
    signal.signal(signal.SIGINT, _interrupt_once)
    try:
        while True:
            job = jobs.get()
            if job is None:
                return
            events.put(("start", job.index, os.getpid()))
            last = [0.0]

            def report(i, n, index=job.index):
                now = time.monotonic()
                if i == n or now - last[0] >= 0.1:
                    last[0] = now
                    events.put(("frames", index, i, n))

            res = render_job(job, output, device, report)
            events.put(("done", job.index, res))
            if res.status == "interrupted":
                return
    except KeyboardInterrupt:
        return


# ------------------------------------------------------------------------------------ progress

class Progress:
    """A bar per scene being rendered (frames) and one for the batch. On a terminal the bars are
    redrawn in place; otherwise (asked for with --progress) a status line at most every 2 s."""

    WIDTH = 24

    def __init__(self, total: int, enabled: bool, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.enabled and self.stream.isatty()
        self.total = total
        self.done = 0
        self.running: dict[int, list] = {}     # index -> [name, frames done, frames]
        self.drawn = 0
        self.last = 0.0

    def start(self, index: int, name: str) -> None:
        self.running[index] = [name, 0, 0]
        self.draw()

    def frames(self, index: int, i: int, n: int) -> None:
        if index in self.running:
            self.running[index][1:] = [i, n]
        self.draw()

    def finish(self, index: int) -> None:
        self.running.pop(index, None)
        self.done += 1
        self.draw(force=True)

    def _bar(self, frac: float) -> str:
        k = int(round(frac * self.WIDTH))
        return "#" * k + "-" * (self.WIDTH - k)

    def lines(self) -> list[str]:
        w = max([len(r[0]) for r in self.running.values()] + [10])
        out = []
        for name, i, n in self.running.values():
            state = f"{i}/{n} frames" if n else "simulating"
            out.append(f"{name:<{w}} [{self._bar(i / n if n else 0)}] {state}")
        part = sum(i / n for _, i, n in self.running.values() if n)
        out.append(f"{'all scenes':<{w}} [{self._bar((self.done + part) / self.total)}] "
                   f"{self.done}/{self.total} scenes")
        return out

    def draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < (0.1 if self.tty else 2.0):
            return
        self.last = now
        if self.tty:
            self._erase()
            lines = self.lines()
            self.stream.write("".join(line[:200] + "\x1b[K\n" for line in lines))
            self.drawn = len(lines)
        else:
            parts = [f"{name} {i}/{n}" if n else f"{name} simulating" for name, i, n in self.running.values()]
            self.stream.write(f"[{self.done}/{self.total} scenes] " + ", ".join(parts) + "\n")
        self.stream.flush()

    def _erase(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0

    def close(self) -> None:
        if self.tty:
            self._erase()
            self.stream.flush()


# --------------------------------------------------------------------------------------- batch

def plan(files: list[Path], output: Path, formats=None, device=None, force: bool = False,
         cache: Cache | None = None, overrides: tuple[str, ...] = (),
         simulation_cache: bool = True, quality: str | None = None) -> tuple[list[Job], list[Result]]:
    """Which scenes need rendering (and in which formats); the others are skipped or failed."""
    from .quality import apply as apply_quality
    from .renderer import outputs

    jobs, results, claimed = [], [], {}
    for i, f in enumerate(files):
        try:
            scene = apply_quality(load_scene(f, overrides=overrides), quality)
            targets = outputs(scene, output, formats)
        except SceneError as e:
            results.append(Result(f, "failed", str(e), bad_input=True))
            continue
        clash = [p for p in targets.values() if p in claimed]
        if clash:
            results.append(Result(f, "failed", f"{clash[0]} is also the output of {claimed[clash[0]]}: "
                                  "rename one of the scene files", bad_input=True))
            continue
        claimed.update({p: f for p in targets.values()})
        keys = {p.name: output_key(scene, fmt, device) for fmt, p in targets.items()}
        stale = tuple(fmt for fmt, p in targets.items() if force or cache is None or not cache.fresh(p, keys[p.name]))
        if stale:
            jobs.append(Job(i, f, stale, keys, tuple(overrides), scene, simulation_cache))
        else:
            results.append(Result(f, "skipped", "up to date: " + ", ".join(p.name for p in targets.values())
                                  + " (--force re-renders)"))
    return jobs, results


def render_many(files: list[Path], output: Path, formats=None, jobs: int | None = None, device=None,
                force: bool = False, progress: bool = False, overrides: tuple[str, ...] = (),
                cache: bool = True, quality: str | None = None, scheduler=None) -> int:
    """Renders every scene (in `jobs` processes; default: the number of cores); prints a table;
    returns the exit code. `cache`: reuse and store simulations (animopt.cache). `scheduler`: the
    address of a dask.distributed scheduler (or a dask Client): the scenes are rendered on its workers
    and their files come back here (animopt.distributed); `jobs` is then the cluster's business."""
    from .encode import remove_stale_temps

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(output)
    cache_sims, cache = cache, Cache(output)
    results: list[Result] = []
    interrupted = False
    try:
        todo, results = plan(files, output, formats, device, force, cache, overrides, simulation_cache=cache_sims,
                             quality=quality)
        n = min(jobs or cores(), len(todo))
        bars = Progress(len(todo), progress)

        def finished(job: Job, res: Result) -> None:
            results.append(res)
            bars.finish(job.index)
            if res.status == "rendered":
                for name in res.files:
                    cache.record(output / name, job.keys[name], job.scene)
                cache.save()

        try:
            if scheduler is not None and todo:
                from .distributed import run_cluster

                interrupted = run_cluster(todo, scheduler, output, device, bars, finished)
            elif n <= 1:
                interrupted = _run_here(todo, output, device, bars, finished)
            else:
                interrupted = _run_pool(todo, n, output, device, bars, finished)
        finally:
            bars.close()
    except KeyboardInterrupt:
        interrupted = True
    done = {r.scene for r in results}
    for f in files:
        if f not in done:
            results.append(Result(f, "interrupted", "not rendered"))
    order = {f: i for i, f in enumerate(files)}
    results.sort(key=lambda r: order.get(r.scene, len(order)))
    print_table(results)
    failed = [r for r in results if r.status == "failed"]
    if interrupted or any(r.status == "interrupted" for r in results):
        return 130
    if not failed:
        return 0
    return 2 if all(r.bad_input for r in failed) else 1


def _run_here(todo: list[Job], output: Path, device, bars: Progress, finished) -> bool:
    for job in todo:
        bars.start(job.index, job.scene.stem)
        res = render_job(job, output, device, lambda i, n, k=job.index: bars.frames(k, i, n))
        finished(job, res)
        if res.status == "interrupted":
            return True
    return False


def _run_pool(todo: list[Job], n: int, output: Path, device, bars: Progress, finished) -> bool:
    """Renders `todo` in `n` forked worker processes; True when interrupted (Ctrl-C)."""
    pool = _Pool(todo, n, output, device, bars, finished)
    try:
        pool.wait()
        return False
    except KeyboardInterrupt:
        pool.interrupt()
        return True
    finally:
        pool.close()


class _Pool:
    """Worker processes taking jobs from one queue and telling their progress on another."""

    def __init__(self, todo: list[Job], n: int, output: Path, device, bars: Progress, finished):
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        self.jobs, self.events = ctx.Queue(), ctx.Queue()
        self.jobs.cancel_join_thread()
        self.by_index = {j.index: j for j in todo}
        for j in [*todo, *[None] * n]:
            self.jobs.put(j)
        self.procs = [ctx.Process(target=_worker, args=(self.jobs, self.events, output, device), daemon=True)
                      for _ in range(n)]
        for p in self.procs:
            p.start()
        self.bars, self.finished = bars, finished
        self.holder: dict[int, int] = {}        # worker pid -> job index it renders
        self.pending = set(self.by_index)

    def handle(self, ev) -> None:
        kind, index = ev[0], ev[1]
        if kind == "start":
            self.holder[ev[2]] = index
            self.bars.start(index, self.by_index[index].scene.stem)
        elif kind == "frames":
            self.bars.frames(index, ev[2], ev[3])
        elif kind == "done" and index in self.pending:
            self.pending.discard(index)
            self.finished(self.by_index[index], ev[2])

    def drain(self) -> None:
        while True:
            try:
                self.handle(self.events.get(timeout=0.05))
            except queue.Empty:
                return

    def alive(self) -> bool:
        return any(p.is_alive() for p in self.procs)

    def dead_workers(self) -> None:
        """A worker that died without a word (killed, out of memory): its scene failed."""
        dead = [p for p in self.procs if not p.is_alive() and self.holder.get(p.pid) in self.pending]
        if dead:
            self.drain()                 # what they said before dying
        for p in dead:
            k = self.holder.get(p.pid)
            if k in self.pending:
                self.pending.discard(k)
                self.finished(self.by_index[k], Result(self.by_index[k].scene, "failed",
                                                       f"the worker process died (exit code {p.exitcode})"))

    def wait(self) -> None:
        while self.pending:
            try:
                self.handle(self.events.get(timeout=0.2))
            except queue.Empty:
                self.dead_workers()
                if not self.alive():
                    self.drain()
                    self.orphans()
                    return

    def orphans(self) -> None:
        """Every worker is gone and scenes are left (one died before its start was heard): they failed."""
        for k in sorted(self.pending):
            self.finished(self.by_index[k], Result(self.by_index[k].scene, "failed",
                                                   "a worker process died before rendering it"))
        self.pending.clear()

    def interrupt(self, seconds: float = 15.0) -> None:
        """Ctrl-C: each worker stops its scene (removing its partial files); their last words are heard."""
        for p in self.procs:
            if p.is_alive():
                try:
                    os.kill(p.pid, signal.SIGINT)
                except OSError:
                    pass
        deadline = time.monotonic() + seconds
        while self.pending and time.monotonic() < deadline and self.alive():
            try:
                self.handle(self.events.get(timeout=0.2))
            except (queue.Empty, KeyboardInterrupt):
                pass

    def close(self) -> None:
        for p in self.procs:
            p.join(timeout=2.0)
            if p.is_alive():
                p.terminate()
                p.join(timeout=2.0)


def print_table(results: list[Result]) -> None:
    if not results:
        return
    w = max(len(str(r.scene)) for r in results)
    for r in results:
        secs = f"{r.seconds:6.1f}s" if r.status in ("rendered", "failed") and r.seconds else "      -"
        detail = r.detail.splitlines() or [""]
        click.echo(f"{str(r.scene):<{w}}  {r.status:<11}  {secs}  {detail[0]}")
        for more in detail[1:]:
            click.echo(" " * (w + 24) + more)
    counts = {s: sum(r.status == s for r in results) for s in ("rendered", "skipped", "failed", "interrupted")}
    click.echo(f"{len(results)} scene(s): " + ", ".join(f"{k} {s}" for s, k in counts.items()
                                                        if k or s != "interrupted"))
