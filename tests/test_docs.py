"""README stays true: its scene reference is the generated one, its quick start is what CI runs."""
from pathlib import Path

from animopt.reference import END, START, scene_reference

ROOT = Path(__file__).resolve().parents[1]


def test_scene_reference_is_current():
    text = (ROOT / "README.md").read_text()
    block = text.split(START, 1)[1].split(END, 1)[0]
    assert block.strip() == scene_reference().strip(), "run: python -m animopt.reference --update README.md"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    cmd = "pip install torch==2.13.0 && pip install -e '.[test]' && python -m pytest"
    assert cmd in readme
    assert cmd in ci


def test_every_bundled_scene_is_in_the_gallery():
    gallery = (ROOT / "scenes" / "README.md").read_text()
    for scene in (ROOT / "scenes").glob("*.toml"):
        assert scene.stem in gallery, scene.name
