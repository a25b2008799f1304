"""`animopt watch SCENE`: render again whenever the scene file, or a data file it reads, is saved.

One process for the whole session: the libraries (matplotlib, torch when a simulation is needed) are
loaded once, and the simulation cache (animopt.cache) makes a round after an edit to `[render]` or the
views draw without simulating. A bad edit prints the usual one-line errors and the watch goes on.

Changes are seen by watchfiles (`pip install 'animopt[watch]'`) where it is installed, else by polling
the files' size and modification time a few times a second.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

from .formats import STILL_SUFFIXES
from .spec import SceneError

POLL_SECONDS = 0.1
SETTLE_SECONDS = 0.05          # an editor's save may be several writes: wait for them to settle


def signature(files: list[Path]) -> tuple:
    """What changes when a file is saved (also through a rename, as editors do): size and mtime."""
    out = []
    for p in files:
        try:
            st = os.stat(p)
            out.append((str(p), st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((str(p), None))
    return tuple(out)


def watched_files(scene_path: Path, scene) -> list[Path]:
    """The scene file and the data files its problem reads."""
    from .batch import data_files

    return [scene_path] + (data_files(scene) if scene is not None else [])


def render_once(scene_path: Path, output: Path, step: int | None = None, quality: str | None = None,
                overrides=(), device: str | None = None) -> tuple[object | None, str]:
    """One round: load, check, draw (a still, or the clip by `output`'s suffix) with the cache.
    Returns (the scene or None, one line or the error lines)."""
    from .encode import EncodeError
    from .quality import apply
    from .renderer import render, still
    from .scene import load_scene

    t0 = time.perf_counter()
    scene, notes = None, []
    try:
        scene = apply(load_scene(scene_path, overrides=list(overrides)), quality)
        if output.suffix.lower().lstrip(".") in STILL_SUFFIXES:
            still(scene, output, step=step, device=device, cache=True, notes=notes.append)
        else:
            render(scene, output, device=device, cache=True, notes=notes.append)
    except SceneError as e:
        return scene, str(e)
    except (EncodeError, OSError) as e:
        return scene, f"animopt: {e}"
    except Exception as e:            # the watch goes on whatever one round met
        return scene, f"animopt: {type(e).__name__}: {e}"
    reused = any(n.startswith("simulation reused") for n in notes)
    return scene, (f"{output}: written in {time.perf_counter() - t0:.2f} s"
                   + (" (simulation reused from the cache)" if reused else ""))


def _wait_polling(files: list[Path], since: tuple, stop: threading.Event) -> bool:
    while not stop.is_set():
        if signature(files) != since:
            return True
        stop.wait(POLL_SECONDS)
    return False


def _wait_watchfiles(files: list[Path], since: tuple, stop: threading.Event) -> bool:
    import watchfiles

    if signature(files) != since:
        return True
    wanted = {str(p.resolve()) for p in files}
    folders = sorted({str(p.resolve().parent) for p in files if p.resolve().parent.exists()})
    for changes in watchfiles.watch(*folders, stop_event=stop, debounce=50, step=25, yield_on_timeout=True,
                                    rust_timeout=500):
        if any(str(Path(path).resolve()) in wanted for _, path in changes) or signature(files) != since:
            return True
        if stop.is_set():
            break
    return not stop.is_set() and signature(files) != since


def has_watchfiles() -> bool:
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        return False
    return True


def watch(scene_path: str | Path, output: str | Path, step: int | None = None, quality: str | None = None,
          overrides=(), device: str | None = None, echo: Callable[[str], None] = print,
          stop: threading.Event | None = None, poll: bool | None = None) -> None:
    """Renders `scene_path` into `output` now and after every save, until `stop` is set (or Ctrl-C)."""
    scene_path, output = Path(scene_path), Path(output)
    stop = stop or threading.Event()
    if poll is None:
        poll = not has_watchfiles()
        if poll:
            echo("watchfiles is not installed (pip install 'animopt[watch]'): polling for changes instead")
    wait = _wait_polling if poll else _wait_watchfiles
    output.parent.mkdir(parents=True, exist_ok=True)
    files = [scene_path]
    echo(f"watching {scene_path} (Ctrl-C stops)")
    while not stop.is_set():
        since = signature(files)
        scene, line = render_once(scene_path, output, step, quality, overrides, device)
        echo(line)
        if scene is not None:
            files = watched_files(scene_path, scene)
            since = since if len(since) == len(files) else signature(files)
        if not wait(files, since, stop):
            return
        if poll:                       # (watchfiles waits for the writes to settle itself: its debounce)
            time.sleep(SETTLE_SECONDS)
