"""Update rules and learning-rate schedules (torch)."""
from .base import Ctx, OptimizerDef, ScheduleDef, Transform, chain
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES, lr_table

__all__ = ["Ctx", "OptimizerDef", "ScheduleDef", "Transform", "chain", "OPTIMIZERS", "SCHEDULES", "lr_table"]
