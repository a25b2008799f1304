"""The scene reference (markdown), generated from the same `Field`s that validate scenes.

`python -m animopt.reference` prints it; README.md holds a copy between markers, and a test checks
that the copy is current.
"""
from __future__ import annotations

from .spec import REQUIRED, Field


def _default(f: Field) -> str:
    if f.default is REQUIRED:
        return "required"
    if f.default is None:
        return "-"
    d = f.default
    if isinstance(d, bool):
        return "`true`" if d else "`false`"
    if isinstance(d, str):
        return f'`"{d}"`'
    if isinstance(d, tuple):
        return "`[" + ", ".join(f'"{x}"' if isinstance(x, str) else f"{x:g}" if isinstance(x, float) else str(x)
                               for x in d) + "]`"
    if isinstance(d, float):
        return f"`{d:g}`"
    if isinstance(d, dict):
        return "`{}`"
    return f"`{d}`"


def table(fields: dict[str, Field], skip: tuple[str, ...] = ()) -> str:
    rows = ["| key | expected | default | notes |", "|---|---|---|---|"]
    for k, f in fields.items():
        if k in skip:
            continue
        exp = f.expected() + (" (sweepable)" if f.sweep else "")
        rows.append(f"| `{k}` | {exp} | {_default(f)} | {f.doc.replace('|', '/')} |")
    return "\n".join(rows)


def scene_reference() -> str:
    from .display import DISPLAY
    from .declare.optimizers import OPTIMIZERS
    from .declare.schedules import SCHEDULES
    from .declare.problems import PROBLEMS
    from .scene import RENDER, TOP, TRAIN, WARMUP
    from .teach import CAPTION, PAUSE, SLOW
    from .declare.views import VIEWS

    out = ["### Top level", table(TOP, skip=("problem", "train", "optimizer", "render")),
           "", "Tables: `[problem]`, `[train]`, one or more `[[optimizer]]`, `[render]`.",
           "", "### `[problem]`", "`type` is one of " + ", ".join(f"`{k}`" for k in PROBLEMS) + "."]
    for name, p in PROBLEMS.items():
        out += ["", f"#### `type = \"{name}\"`" + (f": {p.doc}" if p.doc else ""), "", table(p.fields)]
    out += ["", "### `[train]`", table(TRAIN),
            "", "### `[[optimizer]]`",
            "Every entry has `type`, an optional `schedule` table, display keys and the "
            "hyperparameters of torch.optim's constructor. A number given as a list (`lr = [0.01, 0.1]`) or a "
            "range (`lr = { from = 1e-3, to = 10, num = 50, scale = \"log\" }`) is swept: one run per value, "
            "several swept keys form a grid. A tuned key (`lr = { tune = [1e-4, 1], num = 64, score = \"final_loss\" }`) "
            "runs `num` log-spaced candidates in the same batch and keeps the one with the lowest score "
            "(`final_loss`, `mean_loss`: the mean loss over the steps, `distance`: from the end to the problem's "
            "known minimum; ties to the smaller value, a diverged run scores infinity); the legend shows the "
            "chosen value and `animopt tune SCENE` prints every candidate's score. `compare = \"torch\"` on an "
            "entry whose type has a torch.optim twin also runs that class with the same settings: the twin is "
            "drawn dashed and labelled \"(torch.optim, max diff D)\", D the largest parameter difference. "
            "The parity tests (tests/test_optim_parity.py, tests/test_optim_zoo.py) check every type against "
            "torch.optim or its reference package in float64.", "", "Display keys, on any entry:", "", table(DISPLAY)]
    for name, o in OPTIMIZERS.items():
        out += ["", f"#### `type = \"{name}\"` ({o.label})" + (f": {o.doc}" if o.doc else ""), "", table(o.fields)]
    out += ["", "### `schedule = { type = ... }`",
            "Advances once per update; names and parameters as torch.optim.lr_scheduler. "
            "`warmup = { steps = N, start_factor = f }` (in the schedule table or on the optimizer) ramps "
            "linearly from `f * lr` before it.", "", "Warmup:", "", table(WARMUP)]
    for name, s in SCHEDULES.items():
        out += ["", f"#### `type = \"{name}\"`", ""]
        out.append(table(s.fields) if s.fields else "No parameters.")
    out += ["", "### `[render]`", table(RENDER)]
    out += ["", "### `[[render.caption]]`",
            "Text that appears at a step or a time, fades in and out, and never covers a legend. "
            "`panel` places it in a view, `where = \"head:Adam\"` points an arrow at the run labelled Adam.",
            "", table(CAPTION),
            "", "### `[[render.pause]]`",
            "The clip stops on `step` for `seconds` (exactly round(seconds x fps) more frames), after the "
            "timeline and any slow motion.", "", table(PAUSE),
            "", "### `[[render.slow]]`",
            "The k frames the timeline gives steps `from`..`to` become round(k x factor), over the same steps.",
            "", table(SLOW)]
    out += [
            "", "### Views", "`views` is a row of panels (`[\"fit_line\", \"loss\"]`) or a list of rows; a view "
            "is a name or a table with options (`{ type = \"contour\", levels = 30 }`)."]
    for name, v in VIEWS.items():
        out += ["", f"#### `{name}`" + (f": {v.doc}" if v.doc else ""), ""]
        out.append(table(v.fields) if v.fields else "No options.")
    return "\n".join(out) + "\n"


START, END = "<!-- scene-reference:start -->", "<!-- scene-reference:end -->"


def update_readme(path) -> bool:
    """Rewrites the block between the markers of `path`; returns True if it changed."""
    from pathlib import Path

    p = Path(path)
    text = p.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = head + START + "\n" + scene_reference() + END + tail
    if new != text:
        p.write_text(new)
    return new != text


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 2 and sys.argv[1] == "--update":
        print("updated" if update_readme(sys.argv[2]) else "up to date")
    else:
        print(scene_reference(), end="")
