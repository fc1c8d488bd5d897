"""The sidebar's messages built from real studies, and requests checked as the kernel receives them."""

from __future__ import annotations

import ast
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_hptune import Choice, Int, Real, Space, Study, make_sampler, tune
from jupyter_hptune.cell import CellObjective
from jupyter_hptune.comm import Sidebar
from jupyter_hptune.core.settings import SearchSettings
from jupyter_hptune.protocol import PROTOCOL_VERSION, ProtocolError, parse_request, study_info, write_cell
from jupyter_hptune.runner import CellTuner, drive
from jupyter_hptune.widgets import TunePanel


def test_a_finished_study_as_the_sidebar_shows_it() -> None:
    study = tune(lambda p: (p["x"] - 0.3) ** 2, {"x": Real(0.0, 1.0)}, method="random", n_trials=250, seed=2)
    info = study_info(study.snapshot(), cell_id="c")
    assert (info["state"], info["done"], info["planned"], info["total"], info["failed"]) == (
        "finished",
        250,
        250,
        250,
        0,
    )
    assert info["best_value"] == study.best_value and info["best_params"] == {"x": f"{study.best_params['x']:.4g}"}
    history = info["history"]
    assert len(history) == 200, "the sparkline keeps at most 200 points"
    assert history == sorted(history, reverse=True) and history[-1] == study.best_value
    assert type(info["best_value"]) is float and info["elapsed"] >= 0


def test_failed_and_stopped_searches() -> None:
    def fail(params):
        raise ValueError("broken")

    with pytest.warns(RuntimeWarning):
        failed = tune(fail, {"x": Real(0.0, 1.0)}, method="random", n_trials=3, seed=0)
    info = study_info(failed.snapshot(), cell_id=None)
    assert info["state"] == "failed" and info["failed"] == 3 and info["best_value"] is None

    stopper = {}

    def stop_after_two(params):
        if len(stopper.setdefault("n", [])) == 1:
            stopper["study"].stop()
        stopper["n"].append(1)
        return params["x"]

    study = Study({"x": Real(0.0, 1.0)})
    stopper["study"] = study
    study.optimize(stop_after_two, 10, sampler=make_sampler("random", seed=0))
    info = study_info(study.snapshot(), cell_id=None)
    assert (info["state"], info["done"], info["planned"]) == ("stopped", 2, 10)
    assert study_info(study.snapshot(), cell_id=None, running=True, stopping=True)["state"] == "stopping"


def test_write_cell_sends_only_what_changed_as_python_literals() -> None:
    declared = Space({"lr": Real(1e-4, 0.1, log=True, default=0.01), "n": Int(1, 9), "act": Choice(["a", "b", 3])})
    wanted = Space({"lr": Real(0.1 + 0.2, 0.9, log=False), "n": Int(1, 9), "act": Choice(["b", 3])})
    settings = SearchSettings(method="grid", direction="maximize", seed=5, space=wanted)
    message = write_cell("s", "cell-1", declared, settings)
    assert message["version"] == PROTOCOL_VERSION and message["type"] == "write_cell" and message["cell_id"] == "cell-1"
    assert set(message["params"]) == {"lr", "act"}
    assert message["params"]["lr"] == {"kind": "real", "low": "0.3", "high": "0.9", "log": False, "drop_default": True}
    assert [ast.literal_eval(o) for o in message["params"]["act"]["options"]] == ["b", 3]
    line = message["line"]
    assert line["method"] == "grid" and line["point"] is None
    assert line["options"] == {
        "--method": "grid",
        "--trials": None,
        "--maximize": True,
        "--minimize": False,
        "--seed": "5",
        "--acq": None,
        "--initial-points": None,
        "--grid-points": None,
        "--prune": "none",
        "--patience": None,
        "--max-steps": None,
    }, "every option the panel sets, by flag, in the magic's order: the other methods' options left out"
    assert line["defaults"] == {"--method": "bayes", "--prune": "none", "--acq": "EI", "--grid-points": "5"}
    stopping = write_cell(
        "s", None, declared, SearchSettings(method="random", n_trials=3, seed=None, prune="halving", patience=2)
    )
    assert stopping["params"] == {}
    options = stopping["line"]["options"]
    assert (options["--trials"], options["--maximize"], "--minimize" in options) == ("3", False, False)
    assert (options["--prune"], options["--patience"], options["--max-steps"]) == ("halving", "2", None)
    manual = write_cell("s", None, declared, SearchSettings(method="manual", seed=4), {"lr": 0.5, "act": "b"})
    assert manual["line"]["point"] == "lr=0.5, act='b'"
    assert manual["line"]["options"]["--seed"] is None, "manual trials use no seed: the line gets none"


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ([1], "must be an object"),
        ({"version": 1, "type": "refresh"}, f"protocol version 1, this kernel version {PROTOCOL_VERSION}"),
        ({"version": PROTOCOL_VERSION, "type": "dance"}, "unknown request type 'dance'"),
        ({"version": PROTOCOL_VERSION, "type": "stop"}, "needs the study's name"),
        ({"version": PROTOCOL_VERSION, "type": "stop", "study": ""}, "needs the study's name"),
    ],
)
def test_bad_requests_say_what_is_wrong(data, text) -> None:
    with pytest.raises(ProtocolError, match=text.replace("(", r"\(").replace("'", "'")):
        parse_request(data)


def test_good_requests() -> None:
    assert parse_request({"version": PROTOCOL_VERSION, "type": "refresh"}).type == "refresh"
    request = parse_request({"version": PROTOCOL_VERSION, "type": "insert_cell", "study": "svc"})
    assert (request.type, request.study) == ("insert_cell", "svc")


def test_pruned_trials_are_counted() -> None:
    def learner(params, trial):
        value = 0.0
        for step in range(1, 11):
            value = params["q"] * (1 - 0.8**step)
            trial.report(step, value)
        return value

    study = tune(
        learner, {"q": Real(0.0, 1.0)}, method="random", n_trials=20, seed=1, direction="maximize", prune="median"
    )
    info = study_info(study.snapshot(), cell_id=None)
    pruned = sum(t.state.value == "pruned" for t in study.trials)
    assert pruned > 0 and info["pruned"] == pruned and info["done"] == 20


# -- The protocol as one contract: golden messages shared with the extension's tests -------------------------------
#
# labextension/test/fixtures/kernel/<type>.json: one real message of each kind the kernel sends, built here by the
# real Sidebar from real studies and compared with the file; labextension/test/protocol.spec.ts parses each with
# the extension's parser. labextension/test/fixtures/frontend/<type>.json: one request of each kind, written by the
# extension's tests from its real `request()`; here the real Sidebar receives each one over its comm.
# HPTUNE_UPDATE_FIXTURES=1 makes each side rewrite the files it writes instead of comparing: commit them.

FIXTURES = Path(__file__).resolve().parent.parent / "labextension" / "test" / "fixtures"
UPDATE_FIXTURES = os.environ.get("HPTUNE_UPDATE_FIXTURES") == "1"

# The studies of the fixtures: the cell's is the one that writeback.ts's template() declares.
CELL_STUDY, SAVED_STUDY, CELL_ID, NOTEBOOK = "svc_search", "saved_search", "cell-1", "tuning.ipynb"
TEMPLATE_SPACE = Space(
    {"C": Real(1e-2, 1e3, log=True), "gamma": Real(1e-5, 1e-1, log=True), "kernel": Choice(["rbf", "sigmoid"])}
)

# The only fields whose values depend on when and where the test runs; they are replaced by these values.
VOLATILE_KERNEL = "kernel-token"  # a `studies` message's `kernel`: a new random token in each kernel process
VOLATILE_ELAPSED = 12.5  # a study's `elapsed`: the seconds its search took


def normalise(message: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The message with its volatile fields fixed: the kernel token, each study's elapsed time and storage path."""
    message = json.loads(json.dumps(message))  # what the comm puts on the wire (and a check that it can)
    if "kernel" in message:
        message["kernel"] = VOLATILE_KERNEL
    infos = message.get("studies", []) + ([message["study"]] if isinstance(message.get("study"), dict) else [])
    for info in infos:
        info["elapsed"] = VOLATILE_ELAPSED
        if info["storage"] is not None:
            info["storage"] = Path(info["storage"]).relative_to(folder).as_posix()
    return message


def check_fixture(name: str, message: dict[str, Any], folder: Path) -> None:
    """Compare a message the kernel sends with its fixture (HPTUNE_UPDATE_FIXTURES=1: write the fixture)."""
    path = FIXTURES / "kernel" / f"{name}.json"
    actual = normalise(message, folder)
    if UPDATE_FIXTURES:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(actual, indent=2) + "\n")
        return
    assert path.exists(), f"{path} is missing: run the tests with HPTUNE_UPDATE_FIXTURES=1"
    expected = json.loads(path.read_text())
    assert actual == expected, (
        f"the kernel's {name!r} message differs from {path}: if the change is meant, rewrite it with "
        "HPTUNE_UPDATE_FIXTURES=1, commit it, and update labextension/src/protocol.ts to match"
    )


def frontend_request(name: str) -> dict[str, Any]:
    """A request as the extension sends it (written by labextension/test/protocol.spec.ts)."""
    path = FIXTURES / "frontend" / f"{name}.json"
    assert path.exists(), f"{path} is missing: run the extension's tests (jlpm test) with HPTUNE_UPDATE_FIXTURES=1"
    return json.loads(path.read_text())


class KernelComm:
    """The kernel's end of the sidebar comm: what the kernel sends, and a way to deliver the frontend's messages."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self._handler: Any = None

    def send(self, data: dict[str, Any]) -> None:
        self.sent.append(data)

    def on_msg(self, handler: Any) -> None:
        self._handler = handler

    def on_close(self, handler: Any) -> None:
        pass

    def receive(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Deliver a frontend message as a comm_msg; the messages the kernel sent in answer."""
        before = len(self.sent)
        self._handler({"content": {"data": data}})
        return self.sent[before:]


def score(params: dict[str, Any]) -> float:
    """A made-up cross-validation score of an SVC, best near C=10, gamma=1e-3 and the rbf kernel."""
    value = 0.9 - 0.01 * (math.log10(params["C"]) - 1) ** 2 - 0.02 * (math.log10(params["gamma"]) + 3) ** 2
    return round(value + (0.03 if params["kernel"] == "rbf" else 0.0), 6)


def test_the_messages_of_each_kind_match_the_fixtures_the_extension_parses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)  # the notebook's name comes from the refresh request alone
    storage = tmp_path / ".hptune"
    saved = Study(TEMPLATE_SPACE, name=SAVED_STUDY, storage=storage / f"{SAVED_STUDY}.sqlite", notebook="other.ipynb")
    saved.optimize(score, 3, sampler=make_sampler("random", seed=1))

    study = Study(
        TEMPLATE_SPACE,
        name=CELL_STUDY,
        direction="maximize",
        storage=storage / f"{CELL_STUDY}.sqlite",
        notebook=NOTEBOOK,
    )
    tuner = CellTuner(CellObjective(TEMPLATE_SPACE, score), study, bind=lambda found: None)
    panel = TunePanel(TEMPLATE_SPACE, name=CELL_STUDY, settings=SearchSettings(n_trials=20, direction="maximize"))
    sidebar = Sidebar()
    sidebar.load_saved(tmp_path)
    sidebar.track(CELL_STUDY, tuner, cell_id=CELL_ID, panel=panel)
    comm = KernelComm()
    sidebar._opened(comm, {})  # the frontend opened the comm: the kernel answers with the list
    assert [m["type"] for m in comm.sent] == ["studies"]

    drive(tuner.begin(SearchSettings(method="random", n_trials=6, direction="maximize", seed=3)))
    tuner.end()
    updates = [m for m in comm.sent if m["type"] == "study"]
    assert updates and updates[-1]["study"]["state"] == "finished"
    check_fixture("study", updates[-1], tmp_path)

    # A refresh names the notebook the frontend shows; the kernel records it and sends the list.
    (answer,) = comm.receive(frontend_request("refresh"))
    assert sidebar.notebook == NOTEBOOK
    assert [s["name"] for s in answer["studies"]] == [SAVED_STUDY, CELL_STUDY]
    check_fixture("studies", answer, tmp_path)

    # Save to cell from the sidebar: the panel's next search, C narrowed by a decade at its low end, one kernel.
    panel.controls.trials.widget.value, panel.controls.seed.widget.value = "30", "7"
    c = panel.controls.rows["C"].slider
    c.index = (c.index[0] + 16, c.index[1])
    panel.controls.rows["kernel"].select.value = (0,)
    (answer,) = comm.receive(frontend_request("write_cell"))
    assert answer["type"] == "write_cell" and set(answer["params"]) == {"C", "kernel"}
    check_fixture("write_cell", answer, tmp_path)

    (answer,) = comm.receive(frontend_request("insert_cell"))
    assert answer["type"] == "insert_cell" and set(answer["params"]) == {"C", "gamma", "kernel"}
    check_fixture("insert_cell", answer, tmp_path)

    # Stop a search that has ended: a notice (not an error) and the study as it is.
    notice, update = comm.receive(frontend_request("stop"))
    assert (notice["type"], update["type"]) == ("notice", "study")
    check_fixture("notice", notice, tmp_path)
