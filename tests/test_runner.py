"""Driving a search's steps in a kernel: interrupts end the search as interrupted wherever they land."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from jupyter_hptune import Real, Study, runner
from jupyter_hptune.core.events import SearchFinished
from jupyter_hptune.core.trial import TrialState


def test_an_interrupt_just_outside_the_steps_still_ends_the_search_as_interrupted(monkeypatch) -> None:
    # SIGINT is turned into KeyboardInterrupt only around each step; one may land as that window closes, after the
    # step returned: the steps are suspended then, and must still end the search (a trial left running otherwise).
    calls = []

    @contextlib.contextmanager
    def interrupt_on_the_third_exit():
        yield
        calls.append(None)
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_interrupt_raises", interrupt_on_the_third_exit)
    study, ended = Study({"x": Real(0, 1)}), []
    study.subscribe(lambda event: ended.append(event) if isinstance(event, SearchFinished) else None)
    steps = study.search(lambda p: p["x"], 10)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(runner.drive_async(steps))
    assert len(ended) == 1 and ended[0].study.stop_reason == "interrupted"
    assert study.trials and all(t.state is not TrialState.RUNNING for t in study.trials)
    assert len(study.trials) == 3
