"""`animopt render --scheduler`: scenes rendered on a dask.distributed cluster (a LocalCluster of two worker
processes), with the local pool's cache, table, exit codes and atomic outputs; the files come back as bytes."""
import os
import shutil
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from animopt.batch import CACHE, render_many  # noqa: E402
from animopt.distributed import pack, run_shipment  # noqa: E402
from animopt.batch import plan  # noqa: E402

from test_batch import SCENE, SYNTHETIC, leftovers, run, write_scene  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      worker_dashboard_address=None, silence_logs=40) as c:
        yield c


def test_render_on_the_cluster_cache_table_and_exit_codes(cluster, tmp_path):
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    write_scene(src, "a")
    write_scene(src, "b")
    (src / "bad.toml").write_text(SCENE.format(name="bad", data=SYNTHETIC, frames=8).replace("lr = 0.01", "lr = -1"))
    res = run("render", src, "-o", out, "-q", "--scheduler", cluster.scheduler_address)
    assert res.exit_code == 2, res.output                 # only bad input failed: as the local pool
    lines = res.output.splitlines()
    assert any("a.toml" in ln and "rendered" in ln for ln in lines), res.output
    assert any("bad.toml" in ln and "failed" in ln and "optimizer[0].lr" in ln for ln in lines)
    assert "2 rendered" in lines[-1] and "1 failed" in lines[-1]
    for name in ("a.mp4", "b.mp4"):
        data = (out / name).read_bytes()
        assert len(data) > 1000 and data[4:8] == b"ftyp"
    assert (out / CACHE).is_file() and leftovers(out) == []
    # up to date: skipped without reaching the cluster
    (src / "bad.toml").unlink()
    again = run("render", src, "-o", out, "-q", "--scheduler", cluster.scheduler_address)
    assert again.exit_code == 0 and "2 skipped" in again.output.splitlines()[-1], again.output


def test_data_files_travel_with_the_scene(cluster, tmp_path):
    """A worker without the client's disk: the scene's CSV (found through ../) is shipped as bytes."""
    src, data, out = tmp_path / "scenes", tmp_path / "data", tmp_path / "out"
    src.mkdir()
    data.mkdir()
    (data / "pts.csv").write_text("x,y\n" + "".join(f"{x},{2 * x + 1}\n" for x in range(8)))
    path = write_scene(src, "csv", data='csv = "../data/pts.csv"')
    jobs, results = plan([path], out)
    ship = pack(jobs[0])
    assert set(ship.files) == {"csv.toml", "../data/pts.csv"} and ship.depth == 1
    shutil.rmtree(data)                                  # the worker must not read the client's copy
    fut = distributed.Client(cluster).submit(run_shipment, ship, None, pure=False)
    res, files = fut.result(timeout=120)
    assert res.status == "rendered", res.detail
    assert list(files) == ["csv.mp4"] and len(files["csv.mp4"]) > 1000
    assert str(path) == str(res.scene)


def _break_ffmpeg(broken: bool):
    from animopt import encode

    if broken:
        encode._real_ffmpeg_exe = encode.ffmpeg_exe
        encode.ffmpeg_exe = lambda: "false"
    elif hasattr(encode, "_real_ffmpeg_exe"):
        encode.ffmpeg_exe = encode._real_ffmpeg_exe


def test_a_scene_failing_on_a_worker_leaves_no_file_and_exits_1(cluster, tmp_path):
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    write_scene(src, "a")
    with distributed.Client(cluster) as client:
        client.run(_break_ffmpeg, True)                  # ffmpeg fails on the workers only
        try:
            code = render_many([src / "a.toml"], out, scheduler=client)
        finally:
            client.run(_break_ffmpeg, False)
    assert code == 1
    assert not (out / "a.mp4").exists() and leftovers(out) == []


def test_unreachable_scheduler_fails_every_scene_with_exit_1(tmp_path):
    src, out = tmp_path / "scenes", tmp_path / "out"
    src.mkdir()
    write_scene(src, "a")
    res = run("render", src, "-o", out, "-q", "--scheduler", "tcp://127.0.0.1:9")
    assert res.exit_code == 1, res.output
    assert "could not reach the dask scheduler" in res.output
    assert not (out / "a.mp4").exists()
