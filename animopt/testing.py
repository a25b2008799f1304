"""Golden checks of scenes: did a clip change after an upgrade, and did the numbers or only the pixels move?

A golden folder holds, per scene, `<stem>.npz` (the History, the versions it was made with and how
predictable each run is) and `<stem>.<step>.png` (frames). `check_scene` simulates the scene again and
compares the numbers with the stored History, then draws the frames and compares the pixels. Frames are
drawn from the *stored* History whenever the numbers agree, so a picture test never depends on the last
bits of this machine's float math; only a real change of the numbers redraws from the new History.

Chaos: a run whose trajectory amplifies a tiny change of its start (Rastrigin's RMSprop, say) cannot be
reproduced bit for bit on another CPU. `--update` measures each run's sensitivity by simulating again from
a start moved by `PERTURBATION` (relative) and stores it; a check then compares such a run strictly only
up to its horizon (the step where last-bit differences, `MACHINE_NOISE` ulps grown by that sensitivity,
could pass `rtol`), and after it asks only that the loss stays within the range the golden run visited
(widened by that range).
"""
from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .history import BROADCAST, History, read
from .scene import Scene, load_scene
from .spec import SceneError

DEFAULT_TOLERANCE = 2.0       # RMS over 0..255 grey levels
DEFAULT_RTOL = 1e-6           # relative, on params and loss
PERTURBATION = 1e-12          # relative change of the start used to measure sensitivity (small: a
                              # chaotic run saturates, and a saturated gap understates its growth)
MACHINE_NOISE = 1000          # last-bit differences between CPUs, in units of the dtype's epsilon
CHAOTIC_SENSITIVITY = 1e6     # a run whose start perturbation grows this much is called chaotic
META = "golden."              # prefix of the golden's own arrays in the .npz


@dataclass
class Numbers:
    """The numeric comparison of a scene's History with its golden."""

    same: bool
    change: float = 0.0                 # largest relative difference found (strict part)
    where: str = ""                     # which run and step it was found at
    chaotic: dict[str, int] = field(default_factory=dict)   # label -> horizon step, chaotic runs only
    imprecise: int = 0                  # other runs past their horizon (float32: last bits differ early)

    def describe(self) -> str:
        note = ""
        if self.chaotic:
            runs = ", ".join(f"{label} after step {step}" for label, step in self.chaotic.items())
            note = f" (chaotic: {runs}, checked by loss range there)"
        if self.imprecise:
            note += (f" ({self.imprecise} run(s) sensitive to the last bits of float math part of the way "
                     "(float32, or an unstable stretch), checked by loss range there)")
        if self.same:
            return ("same" if self.change == 0 else f"same within rtol (max {self.change:.1e})") + note
        return f"changed by {self.change:.3g}" + (f" ({self.where})" if self.where else "") + note


@dataclass
class CheckResult:
    """What `check_scene` found. `ok` is True when the numbers and every frame match."""

    name: str
    verdict: str                        # ok | numbers changed | pixels only | missing golden | updated
    numbers: Numbers | None = None
    frames: dict[int, float] = field(default_factory=dict)  # step -> RMS (inf: sizes differ)
    tolerance: float = DEFAULT_TOLERANCE
    missing: list[str] = field(default_factory=list)
    versions: str = ""                  # set when the golden was made with other matplotlib / FreeType
    report: Path | None = None
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict in ("ok", "updated")

    @property
    def numeric_difference(self) -> float:
        return self.numbers.change if self.numbers else float("nan")

    def line(self) -> str:
        """One line: numbers, frames, verdict."""
        if self.verdict == "missing golden":
            return f"{self.name}: missing golden {', '.join(self.missing)}; {self.hint}"
        if self.verdict == "updated":
            chaotic = self.numbers.describe().removeprefix("same").strip() if self.numbers else ""
            steps = ", ".join(str(s) for s in self.frames)
            return f"{self.name}: golden written ({self.name}.npz, frames at steps {steps}) {chaotic}".rstrip()
        parts = [f"{self.name}: numbers {self.numbers.describe()}" if self.numbers else self.name]
        if self.frames:
            parts.append("frames " + ", ".join(f"step {s}: RMS {_rms_text(v)}" for s, v in self.frames.items()))
        parts.append(f"verdict: {self.verdict}")
        text = "; ".join(parts)
        return text + (f" [{self.versions}]" if self.versions else "")


def _rms_text(value: float) -> str:
    return "sizes differ" if not np.isfinite(value) else f"{value:.2f}"


def golden_paths(golden_dir: Path, name: str, steps) -> tuple[Path, dict[int, Path]]:
    """The History file and the frame files of scene `name` in `golden_dir`."""
    return golden_dir / f"{name}.npz", {int(s): golden_dir / f"{name}.{int(s)}.png" for s in steps}


def default_steps(scene: Scene, history: History) -> list[int]:
    """The poster step (render.still_step, else the last) and the middle step."""
    from .renderer import still_step

    return sorted({still_step(scene, history), history.steps // 2})


def check_scene(scene: Scene | str | Path, golden_dir: str | Path, steps=None, tolerance: float = DEFAULT_TOLERANCE,
                rtol: float = DEFAULT_RTOL, update: bool = False, report: str | Path | None = None,
                device: str | None = None) -> CheckResult:
    """Checks `scene` against `golden_dir` (or, with `update`, writes its goldens there).

    `steps`: the steps whose frames are compared (default: poster and middle). `tolerance`: RMS of a
    frame's pixel difference (0..255). `rtol`: relative tolerance on params and loss. `report`: a folder
    to write expected / actual / diff PNGs into (nothing is written when None).
    """
    from .simulator import simulate

    scene = scene if isinstance(scene, Scene) else load_scene(scene)
    golden_dir = Path(golden_dir)
    history = simulate(scene, device=device)
    steps = _checked_steps(scene, history, steps)
    if update:
        return _update(scene, history, golden_dir, steps, device)
    npz_path, png_paths = golden_paths(golden_dir, scene.name, steps)
    missing = [p.name for p in (npz_path, *png_paths.values()) if not p.exists()]
    if missing:
        wanted = f" --steps {','.join(str(s) for s in steps)}" if steps != default_steps(scene, history) else ""
        hint = f"create it with: animopt check {scene.file} --golden {golden_dir}{wanted} --update"
        return CheckResult(scene.name, "missing golden", missing=missing, hint=hint)
    golden, meta = load_golden(npz_path)
    numbers = compare_numbers(golden, history, rtol, meta.get("sensitivity"), meta.get("dtype_eps", 2.2e-16))
    drawn = replace(golden, problem=history.problem) if numbers.same else history
    images = frames_at(scene, drawn, steps)
    frames = {}
    for step, image in images.items():
        expected = read_png(png_paths[step])
        frames[step] = rms(expected, image)
        if report is not None:
            _write_report_images(Path(report), scene.name, step, expected, image)
    verdict = "numbers changed" if not numbers.same else (
        "ok" if all(v <= tolerance for v in frames.values()) else "pixels only")
    result = CheckResult(scene.name, verdict, numbers, frames, tolerance, versions=_version_note(meta),
                         report=Path(report) if report is not None else None)
    if report is not None:
        write_index(report, [result])
    return result


def _checked_steps(scene: Scene, history: History, steps) -> list[int]:
    if steps is None:
        return default_steps(scene, history)
    out = sorted({int(s) for s in steps})
    for s in out:
        if s < 0 or s > history.steps:
            raise SceneError.one(scene.file, "--steps", f"step {s} is outside 0..{history.steps}")
    return out


def _update(scene: Scene, history: History, golden_dir: Path, steps, device) -> CheckResult:
    from .encode import write_png

    golden_dir.mkdir(parents=True, exist_ok=True)
    sensitivity = measure_sensitivity(scene, history, device)
    save_golden(golden_dir / f"{scene.name}.npz", slim(history, scene), sensitivity)
    for step, image in frames_at(scene, history, steps).items():
        write_png(golden_dir / f"{scene.name}.{step}.png", image)
    eps = float(np.finfo(history.params.dtype).eps)
    numbers = Numbers(True, chaotic=_chaotic_runs(history, sensitivity, eps, DEFAULT_RTOL))
    return CheckResult(scene.name, "updated", numbers, {s: 0.0 for s in steps})


def frames_at(scene: Scene, history: History, steps) -> dict[int, np.ndarray]:
    """The frames of `scene` showing `steps`, drawn from `history` (the renderer's own stills)."""
    from .renderer import frames_at as draw

    return draw(scene, history, steps)


# ---- numbers ---------------------------------------------------------------------------------------

def measure_sensitivity(scene: Scene, history: History, device=None) -> np.ndarray:
    """[steps+1, runs] how much each run's parameters move (relative to their scale) per unit of relative
    change of the start: the run simulated again from a start moved by PERTURBATION."""
    from .simulator import plan, simulate

    moved = plan(scene, device)
    default = np.asarray(moved.problem.default_init, dtype=np.float64)
    direction = np.cos(np.arange(default.size) + 0.5)            # no special direction, no zero component

    def nudge(start):
        start = default if start is None else np.asarray(start, dtype=np.float64)
        return tuple(float(v) for v in start + PERTURBATION * direction * np.maximum(np.abs(start), 1.0))

    moved.runs = [run._replace(init=nudge(run.init)) for run in moved.runs]
    perturbed = simulate(moved)
    if perturbed.params.shape != history.params.shape:       # a tuned lr chosen otherwise: nothing is stable
        return np.full(history.loss.shape, np.float32(1e30))
    scale = _scale(history.params)                                            # [runs, P]
    with np.errstate(invalid="ignore"):
        gap = np.abs(perturbed.params - history.params) / scale
    gap = np.where(np.isfinite(history.params) & np.isfinite(perturbed.params), gap, 0.0)
    growth = np.maximum.accumulate(gap.max(axis=2), axis=0) / PERTURBATION
    return growth.astype(np.float32)


def _scale(values: np.ndarray) -> np.ndarray:
    """[runs, P] the size relative differences are taken against: each coordinate's largest finite
    magnitude over the steps (a value crossing zero is not compared with itself near zero), at least a
    thousandth of the run's largest coordinate (a weight that stays near zero is not magnified)."""
    finite = np.where(np.isfinite(values), np.abs(values), 0.0)
    per_coordinate = finite.max(axis=0)
    per_run = per_coordinate.max(axis=-1, keepdims=True)
    return np.maximum(per_coordinate, np.maximum(1e-3 * per_run, 1e-300))


def horizons(sensitivity: np.ndarray | None, eps: float, rtol: float, steps: int, runs: int) -> np.ndarray:
    """[runs] the last step at which last-bit differences between machines stay under rtol / 10."""
    if sensitivity is None or sensitivity.shape != (steps + 1, runs):
        return np.full(runs, steps)
    predicted = MACHINE_NOISE * eps * np.maximum(sensitivity, 1.0)
    unsafe = predicted > rtol / 10
    return np.where(unsafe.any(axis=0), unsafe.argmax(axis=0) - 1, steps).clip(0, steps)


def _chaotic_runs(history: History, sensitivity, eps: float, rtol: float) -> dict[str, int]:
    horizon = horizons(sensitivity, eps, rtol, history.steps, history.runs)
    if sensitivity is None:
        return {}
    chaotic = (sensitivity[-1] >= CHAOTIC_SENSITIVITY) & (horizon < history.steps)
    return {_run_name(history, r): int(horizon[r]) for r in np.nonzero(chaotic)[0]}


def _run_name(history: History, run: int) -> str:
    label = history.labels[run]
    return label if history.labels.count(label) == 1 else f"{label} #{run}"


def compare_numbers(golden: History, history: History, rtol: float, sensitivity=None,
                    eps: float = 2.2e-16) -> Numbers:
    """Params and loss of `history` against `golden`: relative to each quantity's scale, strictly up to
    each run's horizon; past it (chaotic runs) the loss must stay within the golden's range, widened."""
    if golden.params.shape != history.params.shape:
        return Numbers(False, float("inf"), f"shape {golden.params.shape} became {history.params.shape}")
    if not np.array_equal(golden.diverged_at, history.diverged_at) and sensitivity is None:
        return Numbers(False, float("inf"), "a run diverges at another step")
    horizon = horizons(sensitivity, eps, rtol, history.steps, history.runs)
    strict = np.arange(history.steps + 1)[:, None] <= horizon[None, :]          # [steps+1, runs]
    params = _relative_gap(golden.params, history.params)                        # [steps+1, runs, P]
    loss = _relative_gap(golden.loss[..., None], history.loss[..., None])[..., 0]
    gap = np.maximum(params.max(axis=2), loss)
    gap_strict = np.where(strict, gap, 0.0)
    change = float(gap_strict.max())
    where = ""
    if change > rtol:
        step, run = np.unravel_index(int(gap_strict.argmax()), gap_strict.shape)
        where = f"{_run_name(history, run)} at step {step}"
    loose_ok, loose_where = _within_range(golden.loss, history.loss, ~strict)
    chaotic = _chaotic_runs(history, sensitivity, eps, rtol)
    imprecise = int((horizon < history.steps).sum()) - len(chaotic)
    if not loose_ok:
        return Numbers(False, max(change, float(gap.max())), loose_where, chaotic, imprecise)
    return Numbers(change <= rtol, change, where, chaotic, imprecise)


def _relative_gap(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """|a - e| / scale of e; NaN where exactly one of them is not finite, 0 where both are not."""
    scale = _scale(expected)
    with np.errstate(invalid="ignore"):
        gap = np.abs(actual - expected) / scale
    both_bad = ~np.isfinite(expected) & ~np.isfinite(actual)
    one_bad = np.isfinite(expected) != np.isfinite(actual)
    gap = np.where(both_bad, 0.0, gap)
    return np.where(one_bad, np.inf, gap)


def _within_range(golden_loss: np.ndarray, loss: np.ndarray, loose: np.ndarray) -> tuple[bool, str]:
    """Past the horizon: each loss stays within the golden run's range there, widened by that range."""
    for run in np.nonzero(loose.any(axis=0))[0]:
        expected = golden_loss[loose[:, run], run]
        actual = loss[loose[:, run], run]
        expected, actual = expected[np.isfinite(expected)], actual[np.isfinite(actual)]
        if expected.size == 0 or actual.size == 0:
            continue
        low, high = expected.min(), expected.max()
        width = high - low + 1e-9 * max(abs(low), abs(high), 1e-12)
        if actual.min() < low - width or actual.max() > high + width:
            return False, f"run {run}'s loss left the range {low:.4g}..{high:.4g} of its chaotic part"
    return True, ""


# ---- files -----------------------------------------------------------------------------------------

def save_golden(path: Path, history: History, sensitivity: np.ndarray) -> Path:
    """The History and what the check needs: sensitivity and the versions the frames were made with."""
    extra = {f"{META}{k}": np.array(v) for k, v in versions().items()}
    extra[f"{META}sensitivity"] = sensitivity
    return history.save(path, extra=extra)


def slim(history: History, scene: Scene) -> History:
    """What a golden keeps: params and loss in full (the numbers checked); gradients and updates in float32,
    or as NaN (nearly nothing, compressed) when no view draws them; minibatch indices in the smallest
    integers; no data (the scene rebuilds it)."""
    from .record import views_draw_steps_detail

    def drawn(values):
        if views_draw_steps_detail(scene.render):
            return values.astype(np.float32)
        return np.full(values.shape, np.nan, dtype=np.float32)

    batches = history.batch_idx
    small_int = np.int16 if batches is not None and batches.max(initial=0) < 2 ** 15 else np.int32
    return replace(history, grads=drawn(history.grads), updates=drawn(history.updates),
                   batch_idx=None if batches is None else batches.astype(small_int), problem=None)


def load_golden(path: Path) -> tuple[History, dict]:
    history = History.load(path)
    meta = {}
    with np.load(path) as stored:
        for key in stored.files:
            if key.startswith(META) and not key.endswith(BROADCAST):
                value = read(stored, key)
                meta[key[len(META):]] = value if value.ndim else value.item()
    meta["dtype_eps"] = float(np.finfo(history.params.dtype).eps)
    return history, meta


def versions() -> dict[str, str]:
    """What the frames depend on: matplotlib and FreeType (text), and animopt itself."""
    import matplotlib
    from matplotlib import ft2font

    from . import __version__

    return {"matplotlib": matplotlib.__version__, "freetype": ft2font.__freetype_version__,
            "animopt": __version__, "numpy": np.__version__}


def _version_note(meta: dict) -> str:
    now = versions()
    differ = [f"{k} {meta[k]} -> {now[k]}" for k in ("matplotlib", "freetype") if k in meta and meta[k] != now[k]]
    return ("golden made with other versions: " + ", ".join(differ)) if differ else ""


def read_png(path: Path) -> np.ndarray:
    import matplotlib.image

    image = matplotlib.image.imread(str(path))
    if image.dtype != np.uint8:
        image = np.rint(image * 255).astype(np.uint8)
    return image[..., :3]


def rms(expected: np.ndarray, actual: np.ndarray) -> float:
    """Root mean square difference over every channel, in 0..255 levels (inf when sizes differ)."""
    if expected.shape[:2] != actual.shape[:2]:
        return float("inf")
    diff = expected[..., :3].astype(np.float64) - actual[..., :3].astype(np.float64)
    return float(np.sqrt(np.mean(diff ** 2)))


def diff_image(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """White where equal, darker the more a pixel differs (amplified x4); the actual frame when sizes differ."""
    if expected.shape[:2] != actual.shape[:2]:
        return actual[..., :3]
    diff = np.abs(expected[..., :3].astype(np.int16) - actual[..., :3].astype(np.int16)).max(axis=2)
    level = 255 - np.clip(diff * 4, 0, 255).astype(np.uint8)
    out = np.stack([np.full_like(level, 255), level, level], axis=2)
    return out


def _write_report_images(folder: Path, name: str, step: int, expected, actual) -> None:
    from .encode import write_png

    folder.mkdir(parents=True, exist_ok=True)
    write_png(folder / f"{name}.{step}.expected.png", expected)
    write_png(folder / f"{name}.{step}.actual.png", actual)
    write_png(folder / f"{name}.{step}.diff.png", diff_image(expected, actual))


def write_index(folder: str | Path, results: list[CheckResult]) -> Path:
    """`index.html`: per scene its line (numbers first), then each frame expected | actual | diff."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["<!doctype html><meta charset='utf-8'><title>animopt check</title>",
            "<style>body{font-family:sans-serif} img{max-width:32vw;border:1px solid #ccc}"
            " .bad{color:#b00} td{vertical-align:top}</style><h1>animopt check</h1>"]
    for result in results:
        status = "" if result.ok else " class='bad'"
        rows.append(f"<h2{status}>{html.escape(result.name)}: {html.escape(result.verdict)}</h2>")
        if result.numbers is not None:
            rows.append(f"<p>numbers: {html.escape(result.numbers.describe())}</p>")
        if result.versions or result.hint:
            rows.append(f"<p>{html.escape(result.versions or result.hint)}</p>")
        rows.append("<table><tr><th>frame</th><th>expected</th><th>actual</th><th>diff</th></tr>")
        for step, value in result.frames.items():
            stem = f"{result.name}.{step}"
            cells = "".join(f"<td><img src='{html.escape(stem)}.{kind}.png' alt='{kind}'></td>"
                            for kind in ("expected", "actual", "diff"))
            rows.append(f"<tr><td>{html.escape(stem)}<br>step {step}<br>RMS {_rms_text(value)}</td>{cells}</tr>")
        rows.append("</table>")
    path = folder / "index.html"
    tmp = path.with_name(".index.html.part")
    tmp.write_text("\n".join(rows), encoding="utf-8")
    os.replace(tmp, path)
    return path


def new_report_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="animopt-check-"))
