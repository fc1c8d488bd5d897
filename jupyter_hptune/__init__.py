"""Tune the hyperparameters of a model from a notebook cell (%%tune) or from Python (tune)."""

from __future__ import annotations

from typing import Any

from .core import (
    Choice,
    Comparison,
    HyperbandPruner,
    Importance,
    ImportanceError,
    Int,
    MedianPruner,
    Real,
    Space,
    StopTrial,
    Study,
    SuccessiveHalvingPruner,
    Trial,
    TrialPruned,
    TrialState,
    compare,
    make_sampler,
    tune,
)
from .params import hp

__all__ = [
    "Choice",
    "Comparison",
    "HyperbandPruner",
    "Importance",
    "ImportanceError",
    "Int",
    "MedianPruner",
    "Real",
    "Space",
    "StopTrial",
    "Study",
    "SuccessiveHalvingPruner",
    "Trial",
    "TrialPruned",
    "TrialState",
    "compare",
    "hp",
    "load_ipython_extension",
    "make_sampler",
    "tune",
]
__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    """Called by `%load_ext jupyter_hptune`: registers %%tune and puts `hp` in the namespace."""
    from .magic import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built JupyterLab extension lives, for `jupyter-builder develop`."""
    return [{"src": "labextension", "dest": "jupyter-hptune"}]
