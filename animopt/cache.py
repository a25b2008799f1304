"""The simulation cache: a scene's History on disk, so a render after an edit to `[render]` or to the
views' options draws again without simulating (and without importing torch).

Where: `$ANIMOPT_CACHE_DIR`, else `$XDG_CACHE_HOME/animopt`, else `~/.cache/animopt`; one `.npz` per
History under `history/`, named by the hash of everything the simulation reads (`key`). The folder is
kept under `$ANIMOPT_CACHE_MB` megabytes (default 1024): the entries used longest ago go first.

A History read back holds the numbers and the problem's description (data, minimum, window, ...); the
problem's functions that views may call (the loss on a grid for contours, a classifier's predictions and
accuracy) are made when a view first calls one: in numpy from the problem's declaration where it has them
(`ProblemDef.numpy_info`), else by building the problem, with torch.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .history import BROADCAST, History, read
from .info import ProblemInfo
from .scene import Scene
from .spec import Sweep, env_number

FORMAT = 1                       # of the files: a change makes every older entry a miss
DEFAULT_MB = 1024
CALLABLES = ("loss_fn", "predict", "accuracy_fn")


def folder() -> Path:
    """The cache folder (not created)."""
    if os.environ.get("ANIMOPT_CACHE_DIR"):
        return Path(os.environ["ANIMOPT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "animopt"


def limit_bytes() -> int:
    megabytes = env_number("ANIMOPT_CACHE_MB")
    return int((DEFAULT_MB if megabytes is None else megabytes) * 1e6)


def _version(dist: str) -> str:
    """A package's version read from its metadata: no import (torch's alone takes a second)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def _canon(v: Any) -> Any:
    """A JSON-able, order-independent form of spec values (mappings, tuples, sweeps, paths)."""
    if isinstance(v, Sweep):
        return {"sweep": [_canon(x) for x in v.values]}
    if isinstance(v, Mapping):
        return {str(k): _canon(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_canon(x) for x in v]
    if isinstance(v, float):
        return repr(v)
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if hasattr(v, "__dataclass_fields__"):
        return {f.name: _canon(getattr(v, f.name)) for f in fields(v)}
    return repr(v)


def key(scene: Scene, device: str | None = None) -> str:
    """The hash of everything the simulation reads: problem, train, optimizers (not their display keys),
    seed, the content of the data files, the optimizer buffers the views ask to record, the device
    override, and the versions of animopt, torch and numpy."""
    from . import __version__
    from .batch import _file_hash, data_files
    from .record import views_draw_steps_detail
    from .teach import buffers_wanted

    parts = {
        "format": FORMAT, "animopt": __version__, "torch": _version("torch"), "numpy": np.__version__,
        "seed": scene.seed, "problem": _canon(scene.problem), "train": _canon(scene.train),
        "optimizers": [_canon({"type": o.type, "label": o.label, "hparams": o.hparams, "schedule": o.schedule})
                       for o in scene.optimizers],
        "buffers": list(buffers_wanted(scene.render)), "device": device,
        "steps_detail": views_draw_steps_detail(scene.render),      # gradients kept (animopt.record)
        "data": [[str(p), _file_hash(p)] for p in data_files(scene)],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def entry(k: str) -> Path:
    return folder() / "history" / f"{k}.npz"


# ------------------------------------------------------------------------------------ read, write

def save(h: History, k: str) -> Path | None:
    """Writes the History under key `k` (atomically), then trims the folder to its size limit."""
    path = entry(k)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = h.problem
    meta = {"format": FORMAT, "info": {}, "callables": []}
    extra = {}
    if info is not None:
        for f in fields(ProblemInfo):
            v = getattr(info, f.name)
            if f.name in CALLABLES:
                if v is not None:
                    meta["callables"].append(f.name)
            elif isinstance(v, np.ndarray):
                extra[f"info.{f.name}"] = v
            elif f.name != "data":
                meta["info"][f.name] = v.item() if isinstance(v, np.generic) else v
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.part.npz")
    try:
        extra["meta"] = np.array(json.dumps(meta))
        h.save(tmp, extra=extra, compact=True)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):   # a full disk or an odd value: no cache, no failure
        tmp.unlink(missing_ok=True)
        return None
    trim()
    return path


def load(k: str, rebuild: Callable[[], ProblemInfo]) -> History | None:
    """The History cached under `k`, or None. `rebuild()` makes the problem's functions when a view calls one."""
    path = entry(k)
    try:
        h = History.load(path)
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {f: read(z, f"info.{f}") for f in (x.name for x in fields(ProblemInfo)) if f"info.{f}" in z.files}
            data = {name[5:]: read(z, name) for name in z.files
                    if name.startswith("data.") and not name.endswith(BROADCAST)}
    except (OSError, KeyError, ValueError, EOFError):
        return None
    if meta.get("format") != FORMAT:
        return None
    os.utime(path)                               # used now: the last to go
    kw = {**meta["info"], **arrays, "data": data}
    kw["param_names"] = tuple(kw.get("param_names", h.param_names))
    lazy = _Lazy(rebuild)
    kw.update({name: lazy.function(name) for name in meta["callables"]})
    known = {f.name for f in fields(ProblemInfo)}
    info = ProblemInfo(**{k2: v for k2, v in kw.items() if k2 in known})
    from dataclasses import replace

    return replace(h, problem=info)


class _Lazy:
    """The problem's functions, built (torch) on the first call of any of them."""

    def __init__(self, rebuild: Callable[[], ProblemInfo]):
        self.rebuild, self.info = rebuild, None

    def function(self, name: str) -> Callable:
        def call(*args, **kw):
            if self.info is None:
                self.info = self.rebuild()
            return getattr(self.info, name)(*args, **kw)

        call.__name__ = name
        return call


def trim(limit: int | None = None) -> None:
    """Deletes the entries used longest ago until the folder holds at most `limit` bytes."""
    limit = limit_bytes() if limit is None else limit
    try:
        files = [(p.stat().st_mtime, p.stat().st_size, p) for p in (folder() / "history").glob("*.npz")]
    except OSError:
        return
    total = sum(s for _, s, _ in files)
    for _, size, p in sorted(files):
        if total <= limit:
            break
        p.unlink(missing_ok=True)
        total -= size


def clear() -> tuple[int, int]:
    """Empties the cache: the Histories, and the caption lines known to parse (`mathtext_remember`);
    returns (Histories, bytes) removed."""
    n = b = 0
    for p in (folder() / "history").glob("*"):
        try:
            b += p.stat().st_size
            p.unlink()
            n += 1
        except OSError:
            pass
    for p in (folder() / "mathtext").glob("*"):
        p.unlink(missing_ok=True)
    return n, b


def _mathtext_file() -> Path:
    return folder() / "mathtext" / f"ok-{_version('matplotlib')}.txt"


def _line_key(line: str) -> str:
    return hashlib.sha1(line.encode("utf-8")).hexdigest()


def mathtext_known(lines: list[str]) -> set[str]:
    """Those of `lines` that matplotlib's mathtext parser (this version) has parsed before: `animopt
    validate` imports matplotlib only for a caption line it has not seen parse."""
    try:
        seen = set(_mathtext_file().read_text().split())
    except (OSError, UnicodeDecodeError):
        return set()
    return {line for line in lines if _line_key(line) in seen}


def mathtext_remember(lines: list[str]) -> None:
    """Notes that `lines` parsed (best effort: a folder that cannot be written is left alone)."""
    if not lines:
        return
    try:
        f = _mathtext_file()
        f.parent.mkdir(parents=True, exist_ok=True)
        with open(f, "a") as out:
            out.write("".join(_line_key(line) + "\n" for line in lines))
    except OSError:
        pass


# ------------------------------------------------------------------------------------- the hookup

def history(scene: Scene, device: str | None = None, cache: bool = True,
            notes: Callable[[str], None] | None = None, meanwhile: Callable[[], None] | None = None) -> History:
    """The scene's History: from the cache when it holds one for exactly this simulation, else
    simulated (after every check, `renderer.checked_plan`) and stored. `notes(text)` hears which.
    `meanwhile()` (loading the drawing libraries) runs while a child process simulates, where that pays
    (`simulate_beside`)."""
    k = key(scene, device) if cache else None
    if k is not None:
        t0 = time.perf_counter()
        h = load(k, lambda: _problem_info(scene, device))
        if h is not None:
            if notes:
                notes(f"simulation reused from the cache ({time.perf_counter() - t0:.2f} s; --no-cache "
                      "simulates again)")
            return h
        if meanwhile is not None and _worth_a_child(scene) and simulate_beside(scene, device, k, meanwhile):
            h = load(k, lambda: _problem_info(scene, device))
            if h is not None:
                return h
    from .renderer import checked_plan
    from .simulator import simulate

    h = simulate(checked_plan(scene, device))
    if k is not None:
        save(h, k)
    return h


SMALL_RUN_STEPS = 1_000_000      # runs x steps of a simulation whose time is mostly torch's import


def _worth_a_child(scene: Scene) -> bool:
    """A fork pays when torch is not loaded yet, the drawing will not need it (the problem's functions
    are declared in numpy) and the simulation is small (its time is then mostly torch's import), on Linux
    (fork) in a process of one thread (a fork copies no other thread)."""
    if not sys.platform.startswith("linux") or "torch" in sys.modules or threading.active_count() > 1:
        return False
    from .counts import checked
    from .declare.problems import PROBLEMS
    from .spec import SceneError

    if PROBLEMS[scene.problem.type].numpy_info is None:
        return False
    try:
        c = checked(scene)
    except SceneError:
        return False                 # said by the simulation in this process, as always
    return len(c.runs) * (c.steps + 1) <= SMALL_RUN_STEPS


def simulate_beside(scene: Scene, device: str | None, k: str, meanwhile: Callable[[], None]) -> bool:
    """Simulates the scene into the cache (key `k`) in a forked child while this process runs
    `meanwhile()`: on two cores torch's import (about a second) and matplotlib's overlap. True when
    the child stored the History; on any failure the caller simulates here, which says what went wrong."""
    pid = os.fork()
    if pid == 0:                                 # the child: never returns, never flushes the parent's output
        code = 1
        try:
            from .renderer import checked_plan
            from .simulator import simulate

            code = 0 if save(simulate(checked_plan(scene, device)), k) is not None else 1
        finally:
            os._exit(code)
    try:
        meanwhile()
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    try:
        _, status = os.waitpid(pid, 0)
    except BaseException:                        # Ctrl-C while waiting: the child goes too
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    return os.waitstatus_to_exitcode(status) == 0


def _problem_info(scene: Scene, device: str | None) -> ProblemInfo:
    """The functions a view of a cached History calls: the declaration's numpy functions where it has
    them (no torch), else the built problem's."""
    from .declare.problems import PROBLEMS

    p = PROBLEMS[scene.problem.type]
    if p.numpy_info is not None:
        fns = p.numpy_info(dict(scene.problem.options), scene.base_dir, scene.seed, scene.file, scene.train.dtype)
        return ProblemInfo(type=p.name, param_names=(), **fns)
    from .simulator import plan

    return plan(scene, device).problem.info()
