"""The study file: every finished trial written at once, resumed searches, and nothing in it that runs code."""

from __future__ import annotations

import sqlite3

import pytest
from test_pruning import SPACE as CURVE_SPACE
from test_pruning import learner

from jupyter_hptune import Choice, Int, Real, Study, TrialState, tune
from jupyter_hptune.core.errors import StudyError
from jupyter_hptune.core.samplers import make_sampler
from jupyter_hptune.core.search import StopReason
from jupyter_hptune.core.storage import SQLiteStorage
from jupyter_hptune.report import format_summary

SPACE = {"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256), "layers": Choice([(64,), (64, 32)])}


def score(params):
    return params["lr"] * 100 + params["units"] / 256 + len(params["layers"])


def stored_states(path, name="study"):
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT state FROM trials WHERE study = ? ORDER BY number", (name,))]


def test_each_finished_trial_is_on_disk_before_the_next_starts(tmp_path):
    path = tmp_path / "s.sqlite"
    seen_on_disk = []

    def objective(params):
        seen_on_disk.append(stored_states(path))
        return score(params)

    tune(objective, SPACE, method="random", n_trials=4, seed=0, storage=path)
    assert seen_on_disk == [
        ["running"],
        ["complete", "running"],
        ["complete", "complete", "running"],
        ["complete", "complete", "complete", "running"],
    ]
    assert stored_states(path) == ["complete"] * 4


def test_a_trial_left_running_by_a_dead_process_loads_as_interrupted(tmp_path):
    path = tmp_path / "s.sqlite"
    study = tune(score, SPACE, method="random", n_trials=2, seed=0, storage=path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE trials SET state = 'running', finished = NULL, value = NULL WHERE number = 1")
    loaded = SQLiteStorage(path).load("study")
    assert [t.state for t in loaded.trials] == [TrialState.COMPLETE, TrialState.INTERRUPTED]
    assert loaded.trials[0] == study.trials[0]
    assert loaded.trials[0].params["layers"] in ((64,), (64, 32))


def test_resume_continues_the_same_study_and_the_model_learns_from_earlier_trials(tmp_path):
    path = tmp_path / "s.sqlite"
    first = tune(score, SPACE, method="random", n_trials=6, seed=0, storage=path)
    notes = []
    resumed = tune(
        score,
        SPACE,
        method="bayes",
        n_trials=3,
        seed=0,
        storage=path,
        resume=True,
        observers=[lambda e: notes.append(getattr(e, "note", None))],
    )
    assert resumed.resumed
    assert [t.number for t in resumed.trials] == list(range(9))
    assert resumed.trials[:6] == first.trials
    assert "model fitted on 6 earlier trials" in notes[0]
    assert stored_states(path) == ["complete"] * 9


def test_resume_of_a_changed_space_says_what_changed(tmp_path):
    path = tmp_path / "s.sqlite"
    tune(score, SPACE, method="random", n_trials=2, seed=0, storage=path)
    changed = dict(SPACE, units=Int(8, 256), dropout=Real(0, 0.5))
    with pytest.raises(StudyError) as error:
        Study(changed, storage=path, resume=True)
    message = str(error.value)
    assert "the search space of study 'study'" in message
    assert "'units' changed from int [16, 256] to int [8, 256]" in message
    assert "'dropout' was added (real [0, 0.5])" in message
    assert stored_states(path) == ["complete"] * 2, "a refused resume loses nothing"


def test_resume_with_another_direction_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    tune(score, SPACE, method="random", n_trials=2, seed=0, storage=path)
    with pytest.raises(StudyError, match="was a minimize search, not maximize"):
        Study(SPACE, storage=path, resume=True, direction="maximize")


def test_resume_with_nothing_saved_starts_a_new_study(tmp_path):
    study = tune(score, SPACE, method="random", n_trials=2, seed=0, storage=tmp_path / "new.sqlite", resume=True)
    assert not study.resumed and len(study.trials) == 2


def test_a_new_study_replaces_the_old_one_and_keeps_a_copy(tmp_path):
    path = tmp_path / "s.sqlite"
    tune(score, SPACE, method="random", n_trials=3, seed=0, storage=path)
    tune(score, SPACE, method="random", n_trials=1, seed=1, storage=path)
    assert stored_states(path) == ["complete"]
    assert stored_states(tmp_path / "s.previous.sqlite") == ["complete"] * 3


def test_several_studies_share_one_file(tmp_path):
    path = tmp_path / "all.sqlite"
    tune(score, SPACE, method="random", n_trials=2, seed=0, storage=path, name="a")
    tune(score, SPACE, method="random", n_trials=3, seed=0, storage=path, name="b")
    assert len(SQLiteStorage(path).load("a").trials) == 2
    assert len(SQLiteStorage(path).load("b").trials) == 3


def test_the_file_holds_only_plain_values(tmp_path):
    path = tmp_path / "s.sqlite"
    tune(lambda p: 1 / 0 if p["units"] > 200 else score(p), SPACE, method="random", n_trials=8, seed=0, storage=path)
    with sqlite3.connect(path) as conn:
        tables = {
            name: conn.execute(f"SELECT * FROM {name}").fetchall()
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    assert set(tables) == {"meta", "studies", "trials", "steps", "searches"}
    for rows in tables.values():
        for row in rows:
            assert all(isinstance(v, str | int | float | type(None)) for v in row)


def test_a_file_that_is_not_a_study_file_gets_a_clear_error(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("hello, this is not a database" * 100)
    with pytest.raises(ValueError, match="is not a study file"):
        Study(SPACE, storage=path, resume=True)


def test_a_path_that_cannot_be_written_is_refused_before_any_trial(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StudyError, match=f"cannot open the study file {blocker}/s.sqlite"):
        Study(SPACE, storage=blocker / "s.sqlite")


def test_load_opens_a_saved_study_from_its_file_alone(tmp_path):
    path = tmp_path / "s.sqlite"
    saved = tune(score, SPACE, method="random", n_trials=3, seed=0, storage=path, direction="maximize", name="mlp")
    study = Study.load(path, "mlp")
    assert study.trials == saved.trials and study.direction == "maximize" and study.best_params == saved.best_params
    study.optimize(score, 2, sampler=make_sampler("random", seed=1))
    assert len(Study.load(path, "mlp").trials) == 5
    with pytest.raises(StudyError, match=f"no study named 'other' in {path}"):
        Study.load(path, "other")


def test_in_memory_by_default():
    study = Study(SPACE)
    study.optimize(score, 2, sampler=make_sampler("random", seed=0))
    assert study.storage is None and study.snapshot().storage is None


def test_load_tells_how_the_latest_search_ended(tmp_path):
    path = tmp_path / "s.sqlite"
    study = Study(SPACE, storage=path)
    calls = []

    def stop_after_three(params):
        calls.append(1)
        if len(calls) == 3:
            study.stop()
        return score(params)

    study.optimize(stop_after_three, 12, sampler=make_sampler("random", seed=4))
    loaded = Study.load(path).snapshot()
    assert (loaded.method, loaded.seed, loaded.n_planned, loaded.stop_reason) == ("random", 4, 12, "stopped")
    assert [t.number for t in loaded.search_trials] == [0, 1, 2]

    # A second search is the latest one; a process that dies during a search leaves it as interrupted.
    study.optimize(score, 2, sampler=make_sampler("grid", seed=0))
    again = Study.load(path).snapshot()
    assert (again.method, again.n_planned, again.stop_reason, again.first_number) == ("grid", 2, "completed", 3)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE searches SET stop_reason = NULL")
    assert Study.load(path).snapshot().stop_reason is StopReason.INTERRUPTED


def test_a_stop_reason_read_from_the_file_is_the_named_one(tmp_path):
    path = tmp_path / "s.sqlite"
    tune(score, SPACE, method="random", n_trials=2, seed=0, storage=path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT stop_reason, typeof(stop_reason) FROM searches").fetchone() == ("completed", "text")
        conn.execute("UPDATE searches SET stop_reason = 'timeout'")  # as any version writes a search cut short
    loaded = Study.load(path).snapshot()
    assert loaded.stop_reason is StopReason.TIMEOUT and loaded.stop_reason == "timeout"
    assert "Search ended early: the time limit was reached." in format_summary(loaded)


def test_a_file_without_a_search_record_still_loads(tmp_path):
    path = tmp_path / "s.sqlite"
    tune(score, SPACE, method="random", n_trials=2, seed=0, storage=path)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE searches")  # as an earlier version wrote it
    loaded = Study.load(path)
    assert len(loaded.trials) == 2 and loaded.snapshot().n_planned == 0


OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE studies (name TEXT PRIMARY KEY, direction TEXT NOT NULL, space TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE trials (
    study TEXT NOT NULL REFERENCES studies(name), number INTEGER NOT NULL, state TEXT NOT NULL, params TEXT NOT NULL,
    value REAL, error TEXT, traceback TEXT, started REAL, finished REAL, source TEXT NOT NULL,
    PRIMARY KEY (study, number)
);
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO studies VALUES (
    'old', 'maximize', '[{"name": "quality", "kind": "real", "low": 0.0, "high": 1.0, "log": false, "default": null}]', 0
);
INSERT INTO trials VALUES ('old', 0, 'complete', '{"quality": 0.25}', 0.25, NULL, NULL, 1.0, 2.0, 'search');
INSERT INTO trials VALUES ('old', 1, 'failed', '{"quality": 0.5}', NULL, 'ValueError: x', 'tb', 2.0, 3.0, 'search');
"""


def test_a_study_file_of_the_first_version_loads_and_takes_reported_values(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
    assert Study(CURVE_SPACE).space.to_json() == SQLiteStorage(path).header("old")[1].to_json(), "the fixture's space"
    study = Study.load(path, "old")
    assert [(t.state, t.value, dict(t.intermediate), t.best_step) for t in study.trials] == [
        (TrialState.COMPLETE, 0.25, {}, None),
        (TrialState.FAILED, None, {}, None),
    ]
    study.optimize(learner(4), 2, sampler=make_sampler("random", seed=0), patience=2)
    again = SQLiteStorage(path).load("old").trials
    assert len(again) == 4 and list(again[3].intermediate) == [1, 2, 3, 4] and again[3].best_step == 4
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
