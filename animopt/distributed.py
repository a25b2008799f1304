"""Batch rendering on a dask.distributed cluster: `animopt render PATHS --scheduler ADDRESS`.

The client (this process) does what the local pool's parent does: it validates every scene, skips the
outputs that are up to date (`<output>/.animopt-cache.json`), draws the progress bars, prints the table
and returns the same exit codes (animopt.batch). Each scene that needs rendering becomes one task. The
task carries the Scene and the bytes of the scene file and of the data files its problem reads, so the
workers need not share a disk with the client: a worker writes them into a temporary folder, renders
there (animopt.batch.render_job, the local pool's function) and returns the rendered files' bytes. The
client writes them into its output folder under temporary names and renames them (atomic: an
interrupted or failed scene leaves no partial file). Progress comes back as worker events
(`Worker.log_event`, topic `animopt-<batch>`).

Needs the `dask` extra: `pip install 'animopt[dask]'` on the client and on every worker.
"""
from __future__ import annotations

import os
import queue
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from .batch import Job, Result, data_files, render_job

TOPIC = "animopt-progress"


@dataclass
class Shipment:
    """One scene as it travels to a worker: the job (its Scene parsed on the client) and the files it
    reads, by path relative to the scene's folder (`depth` folders deep, so that a data file found
    through `../` stays inside the worker's temporary folder)."""

    job: Job
    files: dict[str, bytes]
    depth: int
    topic: str


def pack(job: Job, topic: str = TOPIC) -> Shipment:
    """The scene file and its data files (bytes), for a worker without the client's disk."""
    scene = job.spec
    base = Path(job.scene).resolve().parent
    files = {Path(job.scene).name: Path(job.scene).read_bytes()}
    depth = 0
    for p in data_files(scene) if scene is not None else ():
        rel = os.path.relpath(Path(p).resolve(), base)
        depth = max(depth, sum(part == ".." for part in Path(rel).parts))
        files[Path(rel).as_posix()] = Path(p).read_bytes()
    return Shipment(job, files, depth, topic)


def run_shipment(s: Shipment, device: str | None) -> tuple[Result, dict[str, bytes]]:
    """On a worker: unpack the files, render into a temporary folder, return the Result and the files."""
    events = _event_sender(s.topic)
    index = s.job.index
    events(["start", index, _worker_name()])
    with tempfile.TemporaryDirectory(prefix="animopt-") as tmp:
        base = Path(tmp, "in", *["d"] * s.depth)
        for rel, data in s.files.items():
            p = Path(os.path.normpath(base / rel))
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        here = base / Path(s.job.scene).name
        job = replace(s.job, scene=here, spec=replace(s.job.spec, path=here) if s.job.spec is not None else None)
        out = Path(tmp, "out")
        last = [0.0]

        def report(i: int, n: int) -> None:
            now = time.monotonic()
            if i == n or now - last[0] >= 0.5:
                last[0] = now
                events(["frames", index, i, n])

        res = render_job(job, out, device, report)
        files = {name: (out / name).read_bytes() for name in res.files if (out / name).is_file()}
    # messages name the client's file, not the worker's copy
    res = replace(res, scene=s.job.scene, detail=res.detail.replace(str(here), str(s.job.scene)))
    return res, files


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except Exception:            # called outside a worker (tests)
        return "local"


def _event_sender(topic: str):
    try:
        from distributed import get_worker

        w = get_worker()
    except Exception:
        return lambda msg: None

    def send(msg):
        try:
            w.log_event(topic, msg)
        except Exception:        # progress is a nicety: never fail a render for it
            pass
    return send


def write_atomic(path: Path, data: bytes) -> None:
    from .encode import temp_path

    tmp = temp_path(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def run_cluster(todo: list[Job], address: str, output: Path, device, bars, finished,
                connect_timeout: float = 10.0) -> bool:
    """Renders the jobs on the cluster whose scheduler is at `address` (or a dask Client/LocalCluster
    object); calls `finished(job, result)` as each comes back. Returns True when interrupted."""
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError("--scheduler needs dask.distributed: pip install 'animopt[dask]'") from None
    try:
        client = address if isinstance(address, Client) else Client(address, timeout=connect_timeout)
    except Exception as e:
        for j in todo:
            finished(j, Result(j.scene, "failed", f"could not reach the dask scheduler at {address}: {e}"))
        return False
    batch = _ClusterBatch(client, todo, output, bars, finished)
    try:
        batch.run(device)
        return False
    except KeyboardInterrupt:
        batch.cancel()
        return True
    finally:
        batch.close(own=client is not address)


class _ClusterBatch:
    """The jobs of one `render --scheduler`: their futures, the progress events, the results written."""

    def __init__(self, client, todo: list[Job], output: Path, bars, finished):
        self.client, self.output, self.bars, self.finished = client, output, bars, finished
        self.by_index = {j.index: j for j in todo}
        self.pending = set(self.by_index)
        self.futures: dict = {}
        self.topic = f"animopt-{uuid.uuid4().hex[:12]}"
        self.events: queue.Queue = queue.Queue()
        try:
            client.subscribe_topic(self.topic, lambda ev: self.events.put(ev[1] if isinstance(ev, tuple) else ev))
        except Exception:
            pass

    def run(self, device) -> None:
        for j in self.by_index.values():
            fut = self.client.submit(run_shipment, pack(j, self.topic), device, pure=False,
                                     key=f"animopt-{j.scene.stem}-{uuid.uuid4().hex[:8]}")
            self.futures[fut] = j.index
        waiting = set(self.futures)
        while waiting:
            done, waiting = _poll(waiting)
            self.drain()
            for fut in done:
                self.collect(fut, self.futures[fut])
        self.drain()

    def drain(self) -> None:
        while True:
            try:
                msg = self.events.get_nowait()
            except queue.Empty:
                return
            kind, index = msg[0], msg[1]
            if index not in self.pending:
                continue
            if kind == "start":
                self.bars.start(index, self.by_index[index].scene.stem)
            elif kind == "frames":
                self.bars.frames(index, msg[2], msg[3])

    def collect(self, fut, index: int) -> None:
        job = self.by_index[index]
        self.pending.discard(index)
        try:
            res, files = fut.result()
            for name, data in files.items():
                write_atomic(self.output / name, data)
        except Exception as e:          # the worker died (KilledWorker), a file could not be written...
            res = Result(job.scene, "failed", f"on the cluster: {type(e).__name__}: {e}")
        self.finished(job, res)

    def cancel(self) -> None:
        for fut, index in self.futures.items():
            if index in self.pending:
                fut.cancel()

    def close(self, own: bool) -> None:
        try:
            self.client.unsubscribe_topic(self.topic)
        except Exception:
            pass
        if own:
            self.client.close()


def _poll(waiting):
    """(done, still waiting) after at most 0.2 s (progress is drawn between polls)."""
    done = {f for f in waiting if f.done()}
    if not done:
        time.sleep(0.2)
    return done, waiting - done
