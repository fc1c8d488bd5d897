"""The errors of a study, and the two helpers that turn an objective's result or exception into a trial's record."""

from __future__ import annotations

import traceback
from numbers import Real as _RealNumber
from pathlib import Path
from typing import Any

import numpy as np

from .space import to_python

__all__ = ["ScoreError", "StudyError", "format_traceback", "score_value"]

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


class StudyError(ValueError):
    """A study that cannot be created or resumed as asked."""


class ScoreError(TypeError):
    """An objective returned something that is not a number."""


def score_value(raw: Any) -> float:
    """The objective's result as a float, or ScoreError naming what came back instead."""
    value = to_python(raw)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, _RealNumber):
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ScoreError(f"the score must be a number, got {type(value).__name__} {shown}")
    return float(value)


def format_traceback(error: BaseException) -> str:
    """The error's traceback without this package's own frames."""
    te = traceback.TracebackException.from_exception(error)
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if not f.filename.startswith(_PACKAGE_DIR)])
    return "".join(te.format())
