"""The optimisation core: pure Python, no IPython, widgets or plotting."""

from .compare import CompareError, Comparison, StudyRun, compare
from .errors import ScoreError, StudyError
from .events import Event, SearchFinished, SearchStarted, StudySnapshot, TrialFinished, TrialReported, TrialStarted
from .importance import MIN_TRIALS, Importance, ImportanceError
from .pruners import (
    PRUNERS,
    HyperbandPruner,
    MedianPruner,
    NoPruner,
    Pruner,
    RunningTrial,
    StopTrial,
    SuccessiveHalvingPruner,
    TrialPruned,
    make_pruner,
)
from .samplers import METHODS, GridSampler, ManualSampler, RandomSampler, Sampler, make_sampler
from .search import StopReason
from .space import Choice, Dimension, Int, Real, Space, SpaceError
from .storage import SQLiteStorage, default_storage_path
from .study import DIRECTIONS, Direction, Study, tune
from .trial import Trial, TrialState

__all__ = [
    "DIRECTIONS",
    "METHODS",
    "MIN_TRIALS",
    "PRUNERS",
    "Choice",
    "CompareError",
    "Comparison",
    "Dimension",
    "Direction",
    "Event",
    "GridSampler",
    "HyperbandPruner",
    "Importance",
    "ImportanceError",
    "Int",
    "ManualSampler",
    "MedianPruner",
    "NoPruner",
    "Pruner",
    "RandomSampler",
    "Real",
    "RunningTrial",
    "SQLiteStorage",
    "Sampler",
    "ScoreError",
    "SearchFinished",
    "SearchStarted",
    "Space",
    "SpaceError",
    "StopReason",
    "StopTrial",
    "Study",
    "StudyError",
    "StudyRun",
    "StudySnapshot",
    "SuccessiveHalvingPruner",
    "Trial",
    "TrialFinished",
    "TrialPruned",
    "TrialReported",
    "TrialStarted",
    "TrialState",
    "compare",
    "default_storage_path",
    "make_pruner",
    "make_sampler",
    "tune",
]
