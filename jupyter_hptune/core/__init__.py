"""The optimisation core: pure Python, no IPython, widgets or plotting."""

from .events import Event, SearchFinished, SearchStarted, StudySnapshot, TrialFinished, TrialStarted
from .samplers import METHODS, GridSampler, ManualSampler, RandomSampler, Sampler, make_sampler
from .space import Choice, Dimension, Int, Real, Space, SpaceError
from .storage import SQLiteStorage, default_storage_path
from .study import DIRECTIONS, ScoreError, Study, StudyError, tune
from .trial import Trial, TrialState

__all__ = [
    "DIRECTIONS",
    "METHODS",
    "Choice",
    "Dimension",
    "Event",
    "GridSampler",
    "Int",
    "ManualSampler",
    "RandomSampler",
    "Real",
    "SQLiteStorage",
    "Sampler",
    "ScoreError",
    "SearchFinished",
    "SearchStarted",
    "Space",
    "SpaceError",
    "Study",
    "StudyError",
    "StudySnapshot",
    "Trial",
    "TrialFinished",
    "TrialStarted",
    "TrialState",
    "default_storage_path",
    "make_sampler",
    "tune",
]
