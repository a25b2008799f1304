"""Scene files: TOML -> validated, frozen dataclasses. Every problem in a file is reported at once."""
from __future__ import annotations

import copyreg
import hashlib
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from . import limits
from .display import DISPLAY
from .formats import NAMES as FORMATS
from .spec import (REQUIRED, Errors, Field, SceneError, Sweep, _show, check_name, check_table, did_you_mean,
                   join)
from .teach import check_captions, check_pauses, check_slows


def frozen(d: dict) -> Mapping:
    """A read-only view of `d` (how a Scene holds its tables); it pickles, so a Scene does."""
    return MappingProxyType(d)


copyreg.pickle(MappingProxyType, lambda m: (frozen, (dict(m),)))


@dataclass(frozen=True)
class ProblemSpec:
    type: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class ScheduleSpec:
    type: str
    options: Mapping[str, Any]            # numbers may be Sweep
    warmup: Mapping[str, Any] | None = None  # {steps, start_factor}


@dataclass(frozen=True)
class OptimizerSpec:
    index: int
    type: str
    label: str | None
    hparams: Mapping[str, Any]            # every key of the optimizer, defaults filled; numbers may be Sweep
    schedule: ScheduleSpec
    display: Mapping[str, Any] = field(default_factory=dict)   # color, linestyle, marker, zorder (given ones)


@dataclass(frozen=True)
class TrainSpec:
    steps: int | None
    epochs: float | None
    batch_size: Any                       # int, Sweep of ints, or None (full batch)
    shuffle: bool
    drop_last: bool
    init: Any                             # None, tuple (one start), tuple of tuples, or {random, range}
    device: str
    dtype: str
    grad_noise: float
    divergence_threshold: float
    record: str = "auto"                  # "drawn", "all" or "auto" (animopt.record)


@dataclass(frozen=True)
class ViewSpec:
    type: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class RenderSpec:
    views: tuple[tuple[ViewSpec, ...], ...]   # rows of panels
    fps: float
    duration: float
    frames: int | None
    size: tuple[int, int]
    formats: tuple[str, ...]
    timeline: str
    hold: float
    still_step: int | None
    theme: str
    dpi: float
    crf: int
    preset: str
    gif_fps: float | None
    transparent: bool = False             # webm, webp, html: alpha over a transparent figure background
    webm_crf: int = 32
    webp_quality: int = 80
    gif: Mapping[str, Any] = field(default_factory=dict)   # GIF and WebP: size, fps, colors, max_mb (given ones)
    captions: tuple = ()                  # animopt.teach.Caption, from [[render.caption]]
    pauses: tuple = ()                    # animopt.teach.Pause, from [[render.pause]]
    slows: tuple = ()                     # animopt.teach.Slow, from [[render.slow]]


@dataclass(frozen=True)
class Scene:
    path: Path | None
    title: str
    seed: int
    problem: ProblemSpec
    train: TrainSpec
    optimizers: tuple[OptimizerSpec, ...]
    render: RenderSpec
    digest: str                            # sha256 of the file's bytes

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "scene"

    @property
    def file(self) -> str:
        return str(self.path) if self.path else "<scene>"

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


TOP = {
    "title": Field("str", default=""),
    "seed": Field("int", default=0, ge=0, doc="every random thing derives from it"),
    "problem": Field("table", default=REQUIRED),
    "train": Field("table", default={}),
    "optimizer": Field("any", default=REQUIRED),
    "render": Field("table", default={}),
}

TRAIN = {
    "steps": Field("int", ge=1, doc="number of updates"),
    "epochs": Field("number", gt=0, doc="passes over the data (data problems)"),
    "batch_size": Field("int", ge=1, sweep=True, doc="points per update; default: all (full batch)"),
    "shuffle": Field("bool", default=False, doc="reshuffle the data each epoch"),
    "drop_last": Field("bool", default=False, doc="skip the last, smaller batch of an epoch"),
    "init": Field("any", doc="start: [a, b], several [[...], [...]], { random = K, range = [[lo, hi], ...] }, "
                             "or a grid of starts { grid = [[x0, x1, nx], [y0, y1, ny]] } (the basins view)"),
    "device": Field("str", default="cpu", doc='"cpu", "cuda", "cuda:1", "mps" or "auto"'),
    "dtype": Field("str", default="float64", choices=("float32", "float64")),
    "grad_noise": Field("number", default=0.0, ge=0, doc="std of Gaussian noise added to each gradient"),
    "divergence_threshold": Field("number", default=1e10, gt=0,
                                  doc="a run whose parameter (absolute value) or loss passes this is marked diverged"),
    "record": Field("str", default="auto", choices=("auto", "drawn", "all"),
                    doc="drawn: the History keeps what the scene's views draw (a sweep drawn as a heat map keeps "
                        "no gradients or updates); all: every quantity at every step (animopt simulate "
                        "--all-steps); auto: all up to 10 million values (steps x runs x parameters), else drawn"),
}

RENDER = {
    "views": Field("any", default=("fit_line", "loss"), doc="a row of panels, or a list of rows"),
    "fps": Field("number", default=30.0, gt=0, le=240),
    "duration": Field("number", default=6.0, gt=0, doc="seconds; the steps are spread over the frames"),
    "frames": Field("int", ge=1, doc="number of frames (instead of duration)"),
    "size": Field("ints", default=(1280, 720), length=2, ge=16, le=limits.MAX_PIXELS, doc="pixels; both even for mp4 (H.264)"),
    "formats": Field("strs", default=("mp4", "gif"), choices=FORMATS, min_length=1),
    "timeline": Field("str", default="motion", choices=("motion", "linear", "log"),
                      doc="which step each frame shows: motion, each frame about the same visible change "
                          "(path on screen, loss on its axis as drawn; a 0.5 s hold on the start); linear, "
                          "evenly spread steps; log, geometrically growing steps"),
    "hold": Field("number", default=0.0, ge=0, doc="seconds the last frame is held"),
    "still_step": Field("int", ge=0, doc="step shown by the poster frame (default: the last)"),
    "theme": Field("str", default="light", choices=("light", "dark")),
    "dpi": Field("number", default=100.0, gt=0, le=1000),
    "crf": Field("int", default=20, ge=0, le=51, doc="H.264 quality: lower is better and bigger"),
    "preset": Field("str", default="veryfast", choices=(
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")),
    "gif_fps": Field("number", gt=0, le=50, doc="GIF frame rate (default: fps, at most 50)"),
    "gif": Field("table", doc="GIF and WebP apart from the video: { size = [w, h], fps = N, colors = N, "
                              "max_mb = X }; with max_mb the encoder picks fps, size and palette to fit"),
    "transparent": Field("bool", default=False,
                         doc="webm (yuva420p), webp and html over a transparent figure background"),
    "webm_crf": Field("int", default=32, ge=0, le=63, doc="VP9 quality (webm, html): lower is better and bigger"),
    "webp_quality": Field("int", default=80, ge=0, le=100, doc="animated WebP quality: higher is better and bigger"),
    "caption": Field("any", doc="[[render.caption]] tables: timed text over the figure or a panel (below)"),
    "pause": Field("any", doc="[[render.pause]] tables: the clip stops on a step for a while (below)"),
    "slow": Field("any", doc="[[render.slow]] tables: a range of steps in slow motion (below)"),
}

GIF = {
    "size": Field("ints", length=2, ge=16, le=limits.MAX_PIXELS, doc="pixels (odd sizes allowed); default: render.size"),
    "fps": Field("number", gt=0, le=50, doc="frame rate (default: fps, at most 50)"),
    "colors": Field("int", ge=2, le=256, doc="GIF palette size (default 256)"),
    "max_mb": Field("number", gt=0, doc="size budget in megabytes (10**6 bytes): fps, size and palette are "
                                        "lowered until the file fits"),
}


def _check_gif(v: Any, gif_fps: Any, errors: Errors) -> Mapping[str, Any]:
    """[render] gif = { size, fps, colors, max_mb }: the given keys (checked)."""
    if not isinstance(v, dict):
        return MappingProxyType({})
    g = {k: x for k, x in check_table(v, GIF, "render.gif", errors).items() if x is not None}
    if "fps" in g and gif_fps is not None:
        errors.add("render.gif.fps", "give render.gif_fps or render.gif.fps, not both")
    if "size" in g:
        g["size"] = tuple(g["size"])
    return MappingProxyType(g)


WARMUP = {
    "steps": Field("int", default=REQUIRED, ge=1),
    "start_factor": Field("number", default=0.1, gt=0, le=1),
}


def load_scene(path: str | Path, overrides=None) -> Scene:
    """Reads and validates a scene file; raises SceneError naming every problem.

    `overrides` change keys without editing the file: {"optimizer[1].lr": 0.05, "render.fps": 60}
    (key paths, list indices from 0), or strings "key.path=value" whose values are read as TOML."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SceneError.one(path, "", "no such file") from None
    except IsADirectoryError:
        raise SceneError.one(path, "", "is a folder, not a scene file") from None
    except OSError as e:
        raise SceneError.one(path, "", f"cannot read: {e.strerror}") from None
    return parse_scene(raw, path, overrides)


def parse_scene(text: str | bytes, path: str | Path | None = None, overrides=None) -> Scene:
    raw = text.encode() if isinstance(text, str) else text
    path = Path(path) if path else None
    errors = Errors(path)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SceneError.one(path, "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise SceneError.one(path, "", f"TOML syntax error: {e}") from None
    if not overrides:
        return _build(data, path, errors, hashlib.sha256(raw).hexdigest())
    from . import overrides as ov

    try:
        sets = ov.normalize(overrides)
    except SceneError as e:
        raise SceneError([(str(path) if path else "<scene>", k, m) for _, k, m in e.problems]) from None
    ov.apply(data, sets, path)
    try:
        return _build(data, path, errors, hashlib.sha256(raw + ov.digest_part(sets)).hexdigest())
    except SceneError as e:
        raise ov.annotate(e, sets) from None


def _build(data: dict, path: Path | None, errors: Errors, digest: str) -> Scene:
    """The Scene of a parsed TOML document: each table checked by its own function, every problem
    collected; the spec dataclasses are built from the checked values (defaults come from the Fields)."""
    reg = _registries()
    top = check_table(data, TOP, "", errors)
    base_dir = path.parent if path else Path.cwd()
    problem = _build_problem(data.get("problem"), base_dir, errors, reg.PROBLEMS)
    train = _build_train(data.get("train", {}), errors)
    optimizers = _build_optimizers(data, errors, reg.OPTIMIZERS, reg.SCHEDULES)
    render = _build_render(data.get("render", {}), errors, reg.VIEWS)
    errors.raise_if_any()
    return Scene(path=path, title=top["title"], seed=top["seed"], problem=problem,
                 train=train, optimizers=tuple(optimizers), render=render, digest=digest)


def _registries():
    """The registries of problems, optimizers, schedules and views (their declarations)."""
    from types import SimpleNamespace

    from .declare.problems import PROBLEMS
    from .declare.optimizers import OPTIMIZERS
    from .declare.schedules import SCHEDULES
    from .declare.views import VIEWS

    return SimpleNamespace(PROBLEMS=PROBLEMS, OPTIMIZERS=OPTIMIZERS, SCHEDULES=SCHEDULES, VIEWS=VIEWS)


def _build_problem(ptab: Any, base_dir: Path, errors: Errors, PROBLEMS) -> ProblemSpec | None:
    """[problem]: its type, its keys, then the checks across keys (only when the keys are fine)."""
    if not isinstance(ptab, dict):
        return None                                   # reported by the top-level check
    ptype = check_name(ptab.get("type"), PROBLEMS, "problem", "problem.type", errors)
    if ptype is None:
        return None
    pdef = PROBLEMS[ptype]
    opts = check_table(ptab, pdef.fields, "problem", errors, ignore=("type",))
    if not _has_errors_under(errors, "problem"):
        for key, msg in pdef.check(opts, base_dir):
            errors.add(join("problem", key) if key else "problem", msg)
    return ProblemSpec(ptype, MappingProxyType(opts))


def _build_train(ttab: Any, errors: Errors) -> TrainSpec | None:
    if not isinstance(ttab, dict):
        return None
    t = check_table(ttab, TRAIN, "train", errors)
    if t["steps"] is not None and t["epochs"] is not None:
        errors.add("train.steps", "give steps or epochs, not both")
    if t["steps"] is not None and t["steps"] > limits.MAX_STEPS:
        errors.add("train.steps", f"{t['steps']} updates is more than the limit of {limits.MAX_STEPS:,}")
    t["init"] = _check_init(ttab.get("init"), errors)
    return _spec(TrainSpec, t)


def _build_optimizers(data: dict, errors: Errors, OPTIMIZERS, SCHEDULES) -> list[OptimizerSpec]:
    otab = data.get("optimizer")
    if isinstance(otab, dict):
        otab = [otab]
    if "optimizer" in data and not (isinstance(otab, list) and otab and all(isinstance(o, dict) for o in otab)):
        errors.add("optimizer", "expected one or more [[optimizer]] tables")
        return []
    specs = [_check_optimizer(o, i, errors, OPTIMIZERS, SCHEDULES) for i, o in enumerate(otab or ())]
    return [s for s in specs if s]


def _build_render(rtab: Any, errors: Errors, VIEWS) -> RenderSpec | None:
    """[render]: its keys, the views, captions, pauses and slow motion, and the frame limit."""
    if not isinstance(rtab, dict):
        return None
    r = check_table(rtab, RENDER, "render", errors)
    size = r["size"]
    if any(v % 2 for v in size) and "mp4" in r["formats"]:
        errors.add("render.size", f"both width and height must be even for mp4 (H.264 needs it), got {list(size)}")
    gif = _check_gif(rtab.get("gif"), r["gif_fps"], errors)
    views = _check_views(rtab.get("views", RENDER["views"].default), errors, VIEWS)
    captions = check_captions(rtab.get("caption"), views, errors)
    pauses, slows = check_pauses(rtab.get("pause"), errors), check_slows(rtab.get("slow"), errors)
    fps, frames = r["fps"], r["frames"]
    total = (frames if frames else round(fps * r["duration"])) + round(fps * r["hold"])
    total += sum(round(fps * p.seconds) for p in pauses)
    if total > limits.MAX_FRAMES:
        errors.add("render.frames" if frames else "render.duration",
                   f"{total:,} frames is more than the limit of {limits.MAX_FRAMES:,}")
    return _spec(RenderSpec, r, size=tuple(size), formats=tuple(dict.fromkeys(r["formats"])), views=views, gif=gif,
                 captions=captions, pauses=pauses, slows=slows)


def _spec(cls, checked: dict, **built):
    """A spec dataclass from a table's checked values (defaults filled by its Fields) and the values
    built from them; keys the dataclass does not hold (sub-tables checked apart) are left out."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in {**checked, **built}.items() if k in names})


def _has_errors_under(errors: Errors, prefix: str) -> bool:
    return any(k == prefix or k.startswith(prefix + ".") for _, k, _ in errors.problems)


def _check_optimizer(o: dict, i: int, errors: Errors, OPTIMIZERS, SCHEDULES) -> OptimizerSpec | None:
    path = f"optimizer[{i}]"
    otype = check_name(o.get("type"), OPTIMIZERS, "optimizer", join(path, "type"), errors)
    if otype is None:
        return None
    odef = OPTIMIZERS[otype]
    display = check_table({k: v for k, v in o.items() if k in DISPLAY}, DISPLAY, path, errors)
    label = display.pop("label", None)
    display = {k: v for k, v in display.items() if v is not None}
    n0 = len(errors.problems)
    hp = check_table(o, odef.fields, path, errors, ignore=("type", "schedule", "warmup", *DISPLAY))
    if len(errors.problems) == n0:
        for key, msg in odef.check(hp):
            errors.add(join(path, key), msg)
    sched = _check_schedule(o.get("schedule"), o.get("warmup"), path, errors, SCHEDULES)
    return OptimizerSpec(index=i, type=otype, label=label, hparams=MappingProxyType(hp), schedule=sched,
                         display=MappingProxyType(display))


def _check_schedule(s: Any, warmup_top: Any, path: str, errors: Errors, SCHEDULES) -> ScheduleSpec:
    spath = join(path, "schedule")
    if s is None:
        s = {"type": "constant"}
    if isinstance(s, str):
        s = {"type": s}
    if not isinstance(s, dict):
        errors.add(spath, "expected a table like { type = \"cosine\", T_max = 100 }")
        return ScheduleSpec("constant", MappingProxyType({}))
    stype = check_name(s.get("type", "constant"), SCHEDULES, "schedule", join(spath, "type"), errors)
    if stype is None:
        return ScheduleSpec("constant", MappingProxyType({}))
    sdef = SCHEDULES[stype]
    n0 = len(errors.problems)
    opts = check_table(s, sdef.fields, spath, errors, ignore=("type", "warmup"))
    if len(errors.problems) == n0:
        for key, msg in sdef.check(opts):
            errors.add(join(spath, key), msg)
    warm = None
    for wpath, w in ((join(spath, "warmup"), s.get("warmup")), (join(path, "warmup"), warmup_top)):
        if w is not None:
            if warm is not None:
                errors.add(wpath, "warmup is given twice (on the optimizer and in its schedule)")
            warm = MappingProxyType(check_table(w, WARMUP, wpath, errors))
    return ScheduleSpec(stype, MappingProxyType(opts), warm)


def _check_init(v: Any, errors: Errors) -> Any:
    key = "train.init"
    if v is None:
        return None
    num = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)  # noqa: E731
    if isinstance(v, list) and v and all(num(x) for x in v):
        return tuple(float(x) for x in v)
    if isinstance(v, list) and v and all(isinstance(s, list) and s and all(num(x) for x in s) for s in v):
        lens = {len(s) for s in v}
        if len(lens) > 1:
            errors.add(key, "every starting point needs the same number of values")
            return None
        return tuple(tuple(float(x) for x in s) for s in v)
    if isinstance(v, dict) and "grid" in v:
        return _check_init_grid(v, errors)
    if isinstance(v, dict):
        unknown = [k for k in v if k not in ("random", "range")]
        if unknown:
            errors.add(join(key, unknown[0]), "unknown key" + did_you_mean(unknown[0], ("random", "range", "grid"))
                       + "; expected random = K and range = [[lo, hi], ...], or grid = [[lo, hi, n], ...]")
            return None
        k, rng = v.get("random"), v.get("range")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            errors.add(join(key, "random"), f"expected an integer >= 1 (number of random starts), got {k!r}")
            return None
        if k > limits.MAX_RUNS:
            errors.add(join(key, "random"), f"{k} starts is more than the limit of {limits.MAX_RUNS:,} runs")
            return None
        if not (isinstance(rng, list) and rng and all(
                isinstance(p, list) and len(p) == 2 and all(num(x) for x in p) and p[0] < p[1] for p in rng)):
            errors.add(join(key, "range"), "expected one [lo, hi] pair (lo < hi) per parameter")
            return None
        return MappingProxyType({"random": k, "range": tuple((float(a), float(b)) for a, b in rng)})
    errors.add(key, "expected a list of numbers, a list of such lists, { random = K, range = [[lo, hi], ...] } "
                    "or { grid = [[lo, hi, n], ...] }")
    return None


def _check_init_grid(v: dict, errors: Errors) -> Any:
    """`init = { grid = [[x0, x1, nx], [y0, y1, ny]] }`: a start at every point of a regular grid, one
    [lo, hi, n] per parameter (n points from lo to hi, both included); the basins view draws it."""
    key = "train.init.grid"
    unknown = [k for k in v if k != "grid"]
    if unknown:
        errors.add(join("train.init", unknown[0]), "unknown key" + did_you_mean(unknown[0], ("grid",))
                   + "; a grid of starts takes only grid = [[lo, hi, n], ...]")
        return None
    g = v["grid"]
    num = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and abs(x) < float("inf")  # noqa: E731
    if not (isinstance(g, list) and g):
        errors.add(key, f"expected one [lo, hi, n] per parameter, e.g. [[-5, 5, 400], [-5, 5, 400]], got {_show(g)}")
        return None
    axes, total = [], 1
    for i, a in enumerate(g):
        k = f"{key}[{i}]"
        if not (isinstance(a, list) and len(a) == 3 and num(a[0]) and num(a[1])):
            errors.add(k, f"expected [lo, hi, n] (two numbers and a count), got {_show(a)}")
            return None
        n = a[2]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            errors.add(k, f"expected n, the number of points, an integer >= 1, got {_show(n)}")
            return None
        if n > 1 and not a[0] < a[1]:
            errors.add(k, f"expected lo < hi, got [{a[0]}, {a[1]}]")
            return None
        axes.append((float(a[0]), float(a[1]), int(n)))
        total *= int(n)
    if total > limits.MAX_RUNS:
        errors.add(key, f"{' x '.join(str(a[2]) for a in axes)} = {total:,} starts is more than the limit of "
                        f"{limits.MAX_RUNS:,} runs")
        return None
    return MappingProxyType({"grid": tuple(axes)})


def _check_views(v: Any, errors: Errors, VIEWS) -> tuple[tuple[ViewSpec, ...], ...]:
    if isinstance(v, (str, dict)):
        v = [v]
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list) or not v:
        errors.add("render.views", "expected a list of views, or a list of rows of views")
        return ()
    rows = v if all(isinstance(x, list) for x in v) else [v]
    out = []
    for r, row in enumerate(rows):
        specs = []
        if not row:
            errors.add(f"render.views[{r}]", "an empty row")
        for c, item in enumerate(row):
            path = f"render.views[{r}][{c}]" if len(rows) > 1 else f"render.views[{c}]"
            spec = check_view(item, path, errors, VIEWS)
            if spec:
                specs.append(spec)
        out.append(tuple(specs))
    return tuple(out)


def check_view(item: Any, path: str, errors: Errors, VIEWS) -> ViewSpec | None:
    named = isinstance(item, dict)
    if isinstance(item, str):
        item = {"type": item}
    if not isinstance(item, dict):
        errors.add(path, f"expected a view name or a table with a type, got {_show(item)}")
        return None
    vtype = check_name(item.get("type"), VIEWS, "view", join(path, "type") if named else path, errors)
    if vtype is None:
        return None
    vdef = VIEWS[vtype]
    opts = check_table(item, vdef.fields, path, errors, ignore=("type",))
    if vtype == "grid" and isinstance(item.get("view"), (str, dict)):
        inner = check_view(item["view"], join(path, "view"), errors, VIEWS)
        opts["view"] = inner
    return ViewSpec(vtype, MappingProxyType(opts))


def is_sweep(v: Any) -> bool:
    return isinstance(v, Sweep)
