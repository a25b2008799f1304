"""Problems: the losses optimizers run on, registered by their scene `type`."""
from .base import BuildCtx, Problem, ProblemDef
from .classic import CLASSICS
from .classifier import CLASSIFIER
from .expression import EXPRESSION
from .line import LINE
from .linear import LINEAR
from .mlp import MLP_DEF
from .quadratic import QUADRATIC

PROBLEMS: dict[str, ProblemDef] = {p.name: p for p in (LINE, LINEAR, QUADRATIC, *CLASSICS, EXPRESSION, CLASSIFIER,
                                                 MLP_DEF)}

__all__ = ["BuildCtx", "Problem", "ProblemDef", "PROBLEMS"]
