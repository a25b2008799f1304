"""Update rules (torch): Optax-style transforms batched over runs, built by the builders that the
declarations (animopt/declare/optimizers.py, schedules.py) name by dotted paths."""
from ..declare.optimizers import OPTIMIZERS, OptimizerDef
from ..declare.schedules import SCHEDULES, ScheduleDef, lr_table
from .base import Ctx, Transform, chain

__all__ = ["Ctx", "OptimizerDef", "ScheduleDef", "Transform", "chain", "OPTIMIZERS", "SCHEDULES", "lr_table"]
