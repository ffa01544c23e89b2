"""Record linkage: standardise, block, compare, score, cluster, explain, evaluate."""

from cpgraph.linkage.engine import EngineResult, LinkageEngine, LinkState
from cpgraph.linkage.evaluate import Evaluation, evaluate
from cpgraph.linkage.explain import Explanation
from cpgraph.linkage.model import Model
from cpgraph.linkage.spec import Spec, load_spec

__all__ = [
    "EngineResult",
    "Evaluation",
    "Explanation",
    "LinkState",
    "LinkageEngine",
    "Model",
    "Spec",
    "evaluate",
    "load_spec",
]
