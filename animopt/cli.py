"""The `animopt` command: a thin layer over the Python API.

Exit codes: 0 success, 2 bad input (scene or arguments), 1 anything else.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .formats import NAMES as FORMATS
from .formats import STILL_SUFFIXES
from .scene import load_scene
from .spec import SceneError

DEFAULT_SCENES = "scenes"


class BadInput(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(self.format_message(), err=True)


def scene_files(paths: tuple[str, ...]) -> list[Path]:
    """Scene files named, or found in the folders named (default: scenes/)."""
    out = []
    for p in paths or (DEFAULT_SCENES,):
        path = Path(p)
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                raise BadInput(f"{path}: no scene files (*.toml) in this folder")
            out += found
        elif path.exists():
            out.append(path)
        else:
            raise BadInput(f"{path}: no such file or folder")
    return out


def _load(path, sets=()) -> object:
    try:
        return load_scene(path, overrides=_overrides(sets))
    except SceneError as e:
        raise BadInput(str(e)) from None


def _overrides(sets) -> list:
    """--set key.path=value options, parsed (a malformed one is bad input naming it)."""
    from .overrides import parse_set

    try:
        return [parse_set(s) for s in sets]
    except SceneError as e:
        raise BadInput("\n".join(f"{k}: {m}" for _, k, m in e.problems)) from None


SET_HELP = ("change a scene key without editing the file: key.path=value, the value read as TOML "
            "(repeatable; list indices count from 0), e.g. --set 'optimizer[1].lr=0.05' --set render.fps=60")


def set_option(f):
    return click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=SET_HELP)(f)


def quality_option(f):
    from .quality import NAMES

    return click.option("--quality", type=click.Choice(NAMES), default=None,
                        help="draft presets: low (half size, 15 fps, fastest encoding), medium (3/4 size, at most "
                             "24 fps), high (the scene as written, the default)")(f)


def _formats(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    fmts = tuple(f.strip().lower().lstrip(".") for f in value.split(",") if f.strip())
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise BadInput(f"--formats: unknown format {bad[0]!r}; expected some of {', '.join(FORMATS)} "
                       "(comma-separated)")
    return fmts


class _Group(click.Group):
    """Turns expected failures (ffmpeg, the file system) into one line and exit code 1."""

    def invoke(self, ctx):
        from .encode import EncodeError

        try:
            return super().invoke(ctx)
        except SceneError as e:
            raise BadInput(str(e)) from None
        except (EncodeError, OSError) as e:
            click.echo(f"animopt: {e}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="animopt")
def main():
    """Animations of gradient-descent optimizers from declarative scene files."""


@main.command()
@click.argument("paths", nargs=-1)
@click.option("-o", "--output", default="output", show_default=True, help="folder for the rendered files")
@click.option("-f", "--formats", default=None, help="comma-separated formats, overriding the scenes' (" + ",".join(FORMATS) + ")")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="scenes rendered in parallel (default: the number of cores)")
@click.option("--device", default=None, help="torch device, overriding the scenes' (cpu, cuda, cuda:1, mps, auto)")
@click.option("--force", is_flag=True, help="re-render outputs that are up to date")
@click.option("-q", "--quiet", is_flag=True, help="no progress bars")
@click.option("--progress", "show_progress", is_flag=True, help="progress bars even when not on a terminal")
@set_option
@click.option("--no-cache", "no_cache", is_flag=True, help="simulate again, neither reading nor writing the "
              "simulation cache (animopt cache --help)")
@quality_option
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="render on a dask.distributed cluster (e.g. tcp://10.0.0.5:8786); the files come back "
                   "into OUTPUT (needs animopt[dask])")
def render(paths, output, formats, jobs, device, force, quiet, show_progress, sets, no_cache, quality, scheduler):
    """Render scene files (or folders of them; default: scenes/) into OUTPUT."""
    from .batch import render_many

    files = scene_files(paths)
    fmts = _formats(formats)
    overrides = _overrides(sets)
    if overrides:                 # an override that does not fit a scene: one line each, before any work
        bad = []
        for f in files:
            try:
                load_scene(f, overrides=overrides)
            except SceneError as e:
                bad += [ln for ln in str(e).splitlines() if "--set " in ln]
        if bad:
            raise BadInput("\n".join(bad))
    progress = (not quiet) and (show_progress or sys.stderr.isatty())
    code = render_many(files, Path(output), formats=fmts, jobs=jobs, device=device, force=force,
                       progress=progress, overrides=tuple(sets), cache=not no_cache,
                       quality=quality, scheduler=scheduler)
    sys.exit(code)


@main.command()
@click.argument("scene", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="file to write: .png, .svg or .pdf")
@click.option("--step", type=click.IntRange(min=0), default=None, help="step to show (default: poster step or last)")
@click.option("--device", default=None, help="torch device, overriding the scene's")
@set_option
@click.option("--no-cache", "no_cache", is_flag=True, help="simulate again, bypassing the simulation cache")
@quality_option
def still(scene, output, step, device, sets, no_cache, quality):
    """Write one frame of SCENE as a PNG, SVG or PDF (by the output's extension)."""
    from .renderer import still as _still

    if Path(output).suffix.lower().lstrip(".") not in STILL_SUFFIXES:
        raise BadInput(f"-o {output}: a still is a PNG, SVG or PDF; give a file name ending in .png, .svg or .pdf")
    from .quality import apply

    sc = apply(_load(scene, sets), quality)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    try:
        path = _still(sc, output, step=step, device=device, cache=not no_cache,
                      notes=lambda text: click.echo(text, err=True))
    except SceneError as e:
        raise BadInput(str(e)) from None
    click.echo(str(path))


@main.command()
@click.argument("scene", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=".npz or .csv file to write")
@click.option("--device", default=None, help="torch device, overriding the scene's")
@click.option("--all-steps", "all_steps", is_flag=True,
              help="record every quantity at every step (record = \"all\"), not only what the views draw")
@set_option
def simulate(scene, output, device, sets, all_steps=False):
    """Run SCENE's optimizers and write their History (.npz arrays, or .csv rows); the .npz also holds
    `frame_steps`, the step each frame of the scene's clip shows. The History keeps what the scene's
    views draw (a heat map: no gradients or updates); --all-steps keeps everything."""
    from dataclasses import replace

    from .renderer import timeline
    from .simulator import chunks, plan, simulate as _simulate

    if Path(output).suffix.lower() not in (".npz", ".csv"):
        raise BadInput(f"-o {output}: expected a file name ending in .npz or .csv")
    sc = _load(scene, tuple(sets) + (('train.record="all"',) if all_steps else ()))
    try:
        p = plan(sc, device)
        h = _simulate(p)
    except SceneError as e:
        raise BadInput(str(e)) from None
    h = replace(h, frame_steps=timeline(sc, h))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    h.save(output)
    parts = chunks(p)                   # the runs simulated a chunk at a time (animopt.record: memory)
    click.echo(f"{output}: {h.runs} runs x {h.steps} steps x {len(h.param_names)} parameters"
               + "".join(f", {n} {word}" for n, word in state_counts(h) if n)
               + (f", in {len(parts)} chunks of up to {max(c.stop - c.start for c in parts):,} runs"
                  if len(parts) > 1 else ""))


@main.command()
@click.argument("scene", type=click.Path(dir_okay=False))
@click.option("--device", default=None, help="torch device, overriding the scene's")
@set_option
def tune(scene, device, sets):
    """Run SCENE's tuned keys (lr = { tune = [lo, hi], num = N, score = ... }) and print every candidate's
    score, entry by entry, the chosen one (the lowest score; ties to the smaller value) marked."""
    from .simulator import simulate_candidates
    from .tune import report

    sc = _load(scene, sets)
    try:
        p, h = simulate_candidates(sc, device=device)
        click.echo(report(p, h))
    except SceneError as e:
        raise BadInput(str(e)) from None


def state_counts(h) -> list[tuple[int, str]]:
    """(how many runs, state) for what became of the runs (animopt.states): diverged, escaped, oscillating."""
    from .states import run_states

    s = run_states(h)
    return [(int((s.diverged_at >= 0).sum()), "diverged"), (int((s.escaped_at >= 0).sum()), "escaped"),
            (int((s.cycle_period > 0).sum()), "oscillating")]


@main.command()
@click.argument("paths", nargs=-1)
def validate(paths):
    """Check scene files (or folders of them) and report every problem."""
    from .renderer import check_scene

    bad = 0
    for f in scene_files(paths):
        try:
            check_scene(load_scene(f))
            click.echo(f"{f}: ok")
        except SceneError as e:
            bad += 1
            click.echo(str(e), err=True)
    if bad:
        click.echo(f"{bad} scene file(s) with problems", err=True)
        sys.exit(2)


@main.command("list")
@click.argument("paths", nargs=-1)
def list_(paths):
    """Show each scene: title, problem, optimizers, steps, views, formats."""
    from .sweep import describe_entry

    bad = 0
    for f in scene_files(paths):
        try:
            s = load_scene(f)
        except SceneError as e:
            bad += 1
            click.echo(str(e), err=True)
            continue
        opts = ", ".join(describe_entry(o) for o in s.optimizers)
        tr = s.train
        length = f"{tr.steps} steps" if tr.steps else f"{tr.epochs:g} epochs"
        views = " | ".join(", ".join(v.type for v in row) for row in s.render.views)
        click.echo(f"{f}\n  title:      {s.title or '-'}\n  problem:    {s.problem.type}\n"
                   f"  optimizers: {opts}\n  length:     {length}\n  views:      {views}\n"
                   f"  formats:    {', '.join(s.render.formats)}")
    if bad:
        sys.exit(2)


@main.command()
@click.argument("scene", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="file to rewrite: a still (.png, .svg, .pdf; default output/<scene>.png) or a clip (.mp4, .gif, ...)")
@click.option("--step", type=click.IntRange(min=0), default=None, help="step of the still (default: the poster step)")
@click.option("--device", default=None, help="torch device, overriding the scene's")
@click.option("--poll", is_flag=True, help="poll the files for changes instead of using watchfiles")
@set_option
@quality_option
def watch(scene, output, step, device, poll, sets, quality):
    """Render SCENE again each time it, or a data file it reads, is saved: a still of the poster frame by
    default, or the clip with -o FILE.mp4. Libraries stay loaded and the simulation is cached, so an edit to
    [render] or the views redraws at once; a bad edit prints its errors and the watch goes on."""
    from .formats import FORMATS
    from .watch import watch as _watch

    out = Path(output) if output else Path("output") / f"{Path(scene).stem}.png"
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in STILL_SUFFIXES and suffix not in FORMATS:
        raise BadInput(f"-o {out}: expected a still (.png, .svg, .pdf) or a clip ({', '.join(FORMATS)})")
    if not Path(scene).is_file():
        raise BadInput(f"{scene}: no such file")
    try:
        _watch(scene, out, step=step, quality=quality, overrides=_overrides(sets), device=device,
               echo=lambda line: click.echo(line, err=line.startswith(("animopt:", str(scene) + ":"))),
               poll=True if poll else None)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@main.group()
def cache():
    """The simulation cache: Histories of scenes, reused by render and still when only [render] or the views
    changed. Folder: $ANIMOPT_CACHE_DIR, else $XDG_CACHE_HOME/animopt, else ~/.cache/animopt; at most
    $ANIMOPT_CACHE_MB megabytes (default 1024), the entries used longest ago removed first."""


@cache.command("clear")
def cache_clear():
    """Empty the simulation cache."""
    from .cache import clear, folder

    n, b = clear()
    click.echo(f"{folder()}: removed {n} cached simulation(s), {b / 1e6:.1f} MB")


@cache.command("info")
def cache_info():
    """Where the cache is and what it holds."""
    from .cache import folder, limit_bytes

    files = list((folder() / "history").glob("*.npz"))
    size = sum(p.stat().st_size for p in files)
    click.echo(f"{folder()}: {len(files)} cached simulation(s), {size / 1e6:.1f} MB of {limit_bytes() / 1e6:.0f} MB")


def _steps(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        steps = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise BadInput(f"--steps: expected comma-separated step numbers like 0,50,100, got {value!r}") from None
    if not steps or min(steps) < 0:
        raise BadInput(f"--steps: expected step numbers 0 or more, got {value!r}")
    return steps


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--golden", "golden_dir", required=True, type=click.Path(file_okay=False),
              help="folder of golden files: <stem>.npz and <stem>.<step>.png")
@click.option("--steps", default=None, help="comma-separated steps whose frames are compared (default: poster and middle)")
@click.option("--tolerance", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="largest RMS pixel difference of a frame (0..255)")
@click.option("--rtol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="relative tolerance on params and loss")
@click.option("--report", default=None, type=click.Path(file_okay=False),
              help="folder for expected / actual / diff PNGs and index.html (default: a new temporary folder)")
@click.option("--update", is_flag=True, help="write or refresh the goldens instead of comparing")
@click.option("--device", default=None, help="torch device, overriding the scenes'")
def check(paths, golden_dir, steps, tolerance, rtol, report, update, device):
    """Compare scenes (default: scenes/) with their goldens: the numbers, then the frames.

    Exit code 0 when everything matches, 1 on a mismatch or a missing golden, 2 on bad input.

    \b
    Example:
      animopt check scenes/ --golden goldens/ --update    # once, and after a change you accept
      animopt check scenes/ --golden goldens/             # after upgrading animopt, matplotlib or torch
    """
    from .testing import check_scene, new_report_folder, write_index

    files = scene_files(paths)
    wanted = _steps(steps)
    scenes = [_load(f) for f in files]
    folder = None if update else Path(report) if report else new_report_folder()
    results = []
    for scene in scenes:
        result = check_scene(scene, golden_dir, steps=wanted, tolerance=tolerance, rtol=rtol, update=update,
                             report=folder, device=device)
        results.append(result)
        click.echo(result.line())
    if folder is not None:
        click.echo(f"report: {write_index(folder, results)}")
    bad = sum(not r.ok for r in results)
    if bad:
        click.echo(f"{bad} of {len(results)} scene(s) differ from their goldens or have none", err=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
