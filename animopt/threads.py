"""Threads of numpy's BLAS while drawing: the views' matrix products are small (a boundary's predictions,
a landscape's plane), and on a machine whose cores are busy (ffmpeg encoding, other renders) a second BLAS
thread only contends: a 200 x 200 boundary 5-20x slower, a landscape's SVD up to 30x. threadpoolctl finds
whichever BLAS numpy loaded (OpenBLAS, MKL, BLIS, Accelerate) on every platform."""
from __future__ import annotations

from contextlib import contextmanager

_CONTROLLER = None           # the BLAS libraries loaded when first asked (numpy's: loaded with numpy)


@contextmanager
def one_blas_thread():
    """numpy's BLAS held to one thread inside the block, as torch is for the simulation's small tensors
    (simulator._cpu_threads)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield
