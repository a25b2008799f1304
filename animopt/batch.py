"""Many scenes at once: parallel processes, a summary table, a non-zero exit if any failed."""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import click

from .scene import load_scene
from .spec import SceneError


@dataclass
class Result:
    scene: Path
    status: str          # rendered, skipped, failed
    detail: str = ""
    seconds: float = 0.0


def render_one(path: Path, output: Path, formats, device, force: bool, progress: bool) -> Result:
    import time

    from .encode import EncodeError
    from .renderer import render

    t0 = time.perf_counter()
    try:
        scene = load_scene(path)
        bar = None
        if progress:
            bar = click.progressbar(length=1, label=path.stem, file=sys.stderr)
            bar.__enter__()

        def tick(i, n):
            if bar is not None:
                bar.length = n
                bar.update(i - bar.pos)

        try:
            files = render(scene, output, formats=formats, device=device, progress=tick)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
        return Result(path, "rendered", ", ".join(f.name for f in files), time.perf_counter() - t0)
    except SceneError as e:
        return Result(path, "failed", str(e), time.perf_counter() - t0)
    except EncodeError as e:
        return Result(path, "failed", str(e), time.perf_counter() - t0)


def render_many(files: list[Path], output: Path, formats=None, jobs: int | None = None, device=None,
                force: bool = False, progress: bool = False) -> int:
    """Renders every scene; prints a table; returns the exit code (0, or 2 if any scene failed)."""
    output.mkdir(parents=True, exist_ok=True)
    jobs = min(jobs or os.cpu_count() or 1, len(files))
    results: list[Result] = []
    if jobs <= 1:
        for f in files:
            results.append(render_one(f, output, formats, device, force, progress))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futs = {pool.submit(render_one, f, output, formats, device, force, False): f for f in files}
            for fut in as_completed(futs):
                try:
                    results.append(fut.result())
                except Exception as e:  # a crash in one scene does not stop the others
                    results.append(Result(futs[fut], "failed", f"{type(e).__name__}: {e}"))
    order = {f: i for i, f in enumerate(files)}
    results.sort(key=lambda r: order[r.scene])
    print_table(results)
    return 2 if any(r.status == "failed" for r in results) else 0


def print_table(results: list[Result]) -> None:
    w = max(len(str(r.scene)) for r in results)
    for r in results:
        line = f"{str(r.scene):<{w}}  {r.status:<8}  {r.seconds:6.1f}s  "
        detail = r.detail.splitlines()
        line += detail[0] if detail else ""
        click.echo(line, err=r.status == "failed")
        for more in detail[1:]:
            click.echo(" " * (w + 20) + more, err=True)
    counts = {s: sum(r.status == s for r in results) for s in ("rendered", "skipped", "failed")}
    click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))
