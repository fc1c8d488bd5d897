"""Which notebook ran a study: recorded in its file, and what the sidebar's list of saved studies says of it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jupyter_hptune import Real, Study
from jupyter_hptune.comm import Sidebar, session_notebook
from jupyter_hptune.core.samplers import make_sampler
from jupyter_hptune.core.storage import SQLiteStorage
from jupyter_hptune.protocol import PROTOCOL_VERSION, parse_request

SPACE = {"x": Real(0.0, 1.0)}


def run(folder: Path, name: str, notebook: str | None, *, resume: bool = False) -> Study:
    study = Study(SPACE, name=name, storage=folder / ".hptune" / f"{name}.sqlite", notebook=notebook, resume=resume)
    study.optimize(lambda p: p["x"], 2, sampler=make_sampler("random", seed=0))
    return study


def test_the_study_file_records_the_notebook_that_ran_it(tmp_path: Path) -> None:
    run(tmp_path, "a", "a.ipynb")
    path = tmp_path / ".hptune" / "a.sqlite"
    assert Study.load(path, "a").notebook == "a.ipynb"
    # Resumed from another notebook, the study is that notebook's now; a new study from nowhere known records none.
    run(tmp_path, "a", "b.ipynb", resume=True)
    assert Study.load(path, "a").notebook == "b.ipynb"
    run(tmp_path, "a", None)
    assert Study.load(path, "a").notebook is None
    # In the meta table, not a new column: the file's schema is the one older versions read.
    with sqlite3.connect(path) as conn:
        assert [row[0] for row in conn.execute("SELECT value FROM meta WHERE key = 'schema'")] == ["2"]


def test_a_file_without_a_recorded_notebook_still_loads(tmp_path: Path) -> None:
    run(tmp_path, "old", "x.ipynb")
    path = tmp_path / ".hptune" / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM meta WHERE key LIKE 'notebook:%'")  # as an older version wrote it
    assert SQLiteStorage(path).notebook("old") is None
    study = Study.load(path, "old")
    assert study.notebook is None and len(study.trials) == 2


def test_the_saved_study_list_tells_each_notebook_s_studies_apart(tmp_path: Path) -> None:
    run(tmp_path, "mine", "a.ipynb")
    run(tmp_path, "theirs", "b.ipynb")
    run(tmp_path, "old", None)
    sidebar = Sidebar()
    sidebar.load_saved(tmp_path)
    listed = {s["name"]: s["notebook"] for s in sidebar._studies()["studies"]}
    assert listed == {"mine": "a.ipynb", "theirs": "b.ipynb", "old": None}


def test_the_kernel_knows_its_notebook_from_its_session_or_its_frontend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/work/a.ipynb")
    assert session_notebook() == "a.ipynb"
    sidebar = Sidebar()
    assert sidebar.notebook == "a.ipynb"
    sidebar.handle(parse_request({"version": PROTOCOL_VERSION, "type": "refresh", "notebook": "work/renamed.ipynb"}))
    assert sidebar.notebook == "renamed.ipynb"
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert session_notebook() is None  # a kernel not started by a server: the frontend's word alone


class _Tuner:
    """What the sidebar reads of a cell's tuner."""

    running = False

    def __init__(self, study: Study) -> None:
        self.study = study

    def observe(self, observer: object) -> None:
        pass


def test_a_renamed_notebook_s_studies_follow_it(tmp_path: Path) -> None:
    study = run(tmp_path, "ours", "old.ipynb")
    sidebar = Sidebar()
    sidebar.track("ours", _Tuner(study), cell_id="c1")
    sidebar.handle(parse_request({"version": PROTOCOL_VERSION, "type": "refresh", "notebook": "dir/new.ipynb"}))
    assert [s["notebook"] for s in sidebar._studies()["studies"]] == ["new.ipynb"]
    assert Study.load(tmp_path / ".hptune" / "ours.sqlite", "ours").notebook == "new.ipynb"
