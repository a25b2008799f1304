"""animopt.show in a real notebook (nbclient + ipykernel): the cell's output holds the player with the
WebM embedded, and the poster PNG; beyond the embed limit, a link to the file."""
import base64

import pytest

import animopt

SCENE = """
title = "notebook"
[problem]
type = "line"
a = 1.0
b = 2.0
n = 10
[train]
steps = 20
init = [0.0, 0.0]
[[optimizer]]
type = "adam"
lr = 0.3
[render]
views = ["loss"]
size = [96, 64]
fps = 10
duration = 1.0
"""


def test_show_repr(tmp_path):
    p = tmp_path / "nb.toml"
    p.write_text(SCENE)
    shown = animopt.show(p, output=tmp_path / "out", fps=5, train__steps=10)
    page = shown._repr_html_()
    assert page.count("data:video/webm;base64,") == 1 and "ao-slider" in page
    assert "STEPS = [0," in page and ",10]" in page
    assert shown._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    shown.embed_limit_mb = 1e-6
    link = shown._repr_html_()
    assert "data:video/webm" not in link and 'href="' in link and "nb.webm" in link and "data:image/png" in link
    with pytest.raises(animopt.SceneError, match="render.fps.*from override render.fps"):
        animopt.show(p, output=tmp_path / "out", fps=-1)


def test_show_in_a_notebook(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[test]')")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]')")
    (tmp_path / "nb.toml").write_text(SCENE)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import animopt\nanimopt.show('nb.toml', output='out')")]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = nb.cells[0].outputs
    result = next(o for o in outputs if o.output_type == "execute_result")
    assert "data:video/webm;base64," in result.data["text/html"]
    clip = result.data["text/html"].split("data:video/webm;base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(clip)[:4] == b"\x1a\x45\xdf\xa3"          # an EBML (WebM) header
    assert base64.b64decode(result.data["image/png"])[:4] == b"\x89PNG"
    assert (tmp_path / "out" / "nb.webm").exists()
