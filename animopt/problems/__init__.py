"""Problems: the losses optimizers run on, registered by their scene `type`."""
from .base import BuildCtx, Problem, ProblemDef
from .line import LINE

PROBLEMS: dict[str, ProblemDef] = {p.name: p for p in (LINE,)}

__all__ = ["BuildCtx", "Problem", "ProblemDef", "PROBLEMS"]
