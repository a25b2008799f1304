import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
# the simulation cache of `animopt render` and `still` (animopt.cache) in a fresh folder, never the user's
os.environ["ANIMOPT_CACHE_DIR"] = __import__("tempfile").mkdtemp(prefix="animopt-cache-")

ROOT = Path(__file__).resolve().parents[1]

try:                     # hypothesis keeps its database and caches out of the checkout
    import tempfile

    from hypothesis import configuration, settings

    configuration.set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "animopt-hypothesis"))
    settings.register_profile("animopt", database=None)
    settings.load_profile("animopt")
except ImportError:
    pass
SKIPPED = {"__pycache__", ".git", ".venv", "venv"}     # Python's bytecode and environments, not the tests'


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ (History .npz and frames) instead of comparing with it")


def _checkout_files() -> dict[str, int]:
    out = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED and not d.endswith(".egg-info")]
        for name in files:
            path = os.path.join(folder, name)
            out[os.path.relpath(path, ROOT)] = os.stat(path).st_mtime_ns
    return out


def pytest_sessionstart(session):
    session.config._checkout_before = _checkout_files()


def pytest_sessionfinish(session, exitstatus):
    """Tests never write into the checkout: no file appears or goes, no golden changes (only --update-golden
    may write tests/golden/). Edits to existing sources during a run (an editor) are not the tests'."""
    before = getattr(session.config, "_checkout_before", None)
    if before is None:
        return
    after = _checkout_files()
    allowed = "tests/golden/" if session.config.getoption("--update-golden") else None
    golden = "tests/golden" + os.sep
    changed = sorted(k for k in after.keys() ^ before.keys() | {k for k in after if k.startswith(golden)
                                                                and after[k] != before.get(k)}
                     if not (allowed and k.startswith(allowed)))
    if changed:
        session.config.get_terminal_writer().line(
            "tests wrote into the checkout: " + ", ".join(changed[:10]), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
