"""Make ``tests.factories`` importable without a package ``__init__``."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402

from tests.factories import GeneratedPopulation, make_population  # noqa: E402


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> GeneratedPopulation:
    """One small population (with a high error rate) shared by the generator tests."""
    return make_population(tmp_path_factory.mktemp("pop"), households=60, seed=5, error_rate=0.05)
