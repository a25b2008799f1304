"""Reading data files named by a scene (paths relative to the scene file)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ...spec import SceneError


def check_data_source(v: dict, base_dir: Path, explicit: tuple[str, str], synthetic: tuple[str, ...] = (),
                      files: tuple[str, ...] = ("csv",)) -> list[tuple[str, str]]:
    """Exactly one data source: explicit lists (same length), a file that exists, or synthetic keys."""
    xk, yk = explicit
    errs = []
    given_explicit = v.get(xk) is not None or v.get(yk) is not None
    given_files = [k for k in files if v.get(k)]
    if given_explicit:
        if v.get(xk) is None or v.get(yk) is None:
            errs.append((xk if v.get(xk) is None else yk, f"explicit data needs both {xk} and {yk}"))
        elif len(v[xk]) != len(v[yk]):
            errs.append((yk, f"{xk} has {len(v[xk])} values but {yk} has {len(v[yk])}"))
        if given_files:
            errs.append((given_files[0], f"give either {xk}/{yk} or {given_files[0]}, not both"))
    elif given_files:
        if len(given_files) > 1:
            errs.append((given_files[1], f"give one data file, not {' and '.join(given_files)}"))
        for k in given_files:
            p = base_dir / v[k]
            if not p.is_file():
                errs.append((k, f"no such file: {p}"))
    else:
        missing = [k for k in synthetic if v.get(k) is None]
        if missing:
            errs.append((missing[0], "missing: give the true values for synthetic data ("
                         + ", ".join(synthetic) + f"), or explicit {xk}/{yk}, or a data file"))
    return errs


def read_csv_columns(path: Path, columns: tuple[str, ...], file: str, key: str) -> tuple[np.ndarray, ...]:
    """Numeric columns of a CSV file with a header row."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as e:
        raise SceneError.one(file, key, f"cannot read {path}: {e.strerror}") from None
    if not rows:
        raise SceneError.one(file, key, f"{path} is empty")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise SceneError.one(file, key, f"{path} has no column {missing[0]!r} (header: {', '.join(header)})")
    idx = [header.index(c) for c in columns]
    out = [[] for _ in columns]
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            for j, i in enumerate(idx):
                out[j].append(float(row[i]))
        except (ValueError, IndexError):
            raise SceneError.one(file, key, f"{path} line {n}: expected numbers in {', '.join(columns)}") from None
    if not out[0]:
        raise SceneError.one(file, key, f"{path} has no data rows")
    return tuple(np.array(c) for c in out)


def read_npz_arrays(path: Path, names: tuple[tuple[str, ...], ...], file: str, key: str) -> tuple[np.ndarray, ...]:
    """Arrays of an `.npz` file: for each entry of `names`, the first of its alternatives that the
    file holds (e.g. (("X",), ("Y", "y"))). Never unpickles."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise SceneError.one(file, key, f"cannot read {path} as an .npz file: {e}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise SceneError.one(file, key, f"{path} is a single .npy array; expected an .npz file holding "
                             + " and ".join(alts[0] for alts in names))
    out = []
    with z:
        for alts in names:
            found = next((a for a in alts if a in z.files), None)
            if found is None:
                raise SceneError.one(file, key, f"{path} has no array {alts[0]!r} (it holds: "
                                     f"{', '.join(z.files) or 'nothing'})")
            try:
                arr = z[found]
            except ValueError as e:     # object arrays would need pickle
                raise SceneError.one(file, key, f"{path}: array {found!r} cannot be read: {e}") from None
            if arr.dtype.kind not in "biuf":
                raise SceneError.one(file, key, f"{path}: array {found!r} holds {arr.dtype}, expected numbers")
            out.append(arr)
    return tuple(out)


def finite_or_error(arrays: dict[str, np.ndarray], path: Path, file: str, key: str) -> None:
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise SceneError.one(file, key, f"{path}: {name} holds NaN or infinite values")


def problems_of(fn, *args) -> list[tuple[str, str]]:
    """Runs a loader at check time and turns its SceneError into (key under `problem`, message) pairs."""
    try:
        fn(*args)
    except SceneError as e:
        return [(k[len("problem."):] if k.startswith("problem.") else k, m) for _, k, m in e.problems]
    return []


def least_squares(A: np.ndarray, Y: np.ndarray) -> np.ndarray | None:
    """The (minimum-norm) least-squares solution of A w = Y, or None when the numbers defeat it."""
    try:
        with np.errstate(all="ignore"):
            sol = np.linalg.lstsq(A, Y, rcond=None)[0]
    except (np.linalg.LinAlgError, ValueError):
        return None
    return sol if np.all(np.isfinite(sol)) else None
