"""The sidebar's messages built from real studies, and requests checked as the kernel receives them."""

from __future__ import annotations

import ast

import pytest

from jupyter_hptune import Choice, Int, Real, Space, tune
from jupyter_hptune.protocol import ProtocolError, parse_request, study_info, write_cell


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

    from jupyter_hptune import Study, make_sampler

    study = Study({"x": Real(0.0, 1.0)})
    stopper["study"] = study
    study.optimize(stop_after_two, 10, sampler=make_sampler("random", seed=0))
    info = study_info(study.snapshot(), cell_id=None)
    assert (info["state"], info["done"], info["planned"]) == ("stopped", 2, 10)
    assert study_info(study.snapshot(), cell_id=None, running=True, stopping=True)["state"] == "stopping"


def test_write_cell_sends_only_what_changed_as_python_literals() -> None:
    declared = Space({"lr": Real(1e-4, 0.1, log=True, default=0.01), "n": Int(1, 9), "act": Choice(["a", "b", 3])})
    wanted = Space({"lr": Real(0.1 + 0.2, 0.9, log=False), "n": Int(1, 9), "act": Choice(["b", 3])})
    message = write_cell(
        "s", "cell-1", declared, method="grid", n_trials=None, direction="maximize", seed=5, options={}, space=wanted
    )
    assert message["version"] == 1 and message["type"] == "write_cell" and message["cell_id"] == "cell-1"
    assert set(message["params"]) == {"lr", "act"}
    assert message["params"]["lr"] == {"kind": "real", "low": "0.3", "high": "0.9", "log": False, "drop_default": True}
    assert [ast.literal_eval(o) for o in message["params"]["act"]["options"]] == ["b", 3]
    assert message["line"] == {
        "method": "grid",
        "trials": None,
        "direction": "maximize",
        "seed": 5,
        "options": {"prune": None, "patience": None, "max_steps": None},
        "point": None,
    }
    stopping = write_cell(
        "s",
        None,
        declared,
        method="random",
        n_trials=3,
        direction="minimize",
        seed=None,
        options={},
        space=declared,
        prune="halving",
        patience=2,
    )
    assert stopping["params"] == {}
    assert stopping["line"]["options"] == {"prune": "halving", "patience": 2, "max_steps": None}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ([1], "must be an object"),
        ({"version": 2, "type": "refresh"}, "protocol version 2, this kernel version 1"),
        ({"version": 1, "type": "dance"}, "unknown request type 'dance'"),
        ({"version": 1, "type": "stop"}, "needs the study's name"),
        ({"version": 1, "type": "stop", "study": ""}, "needs the study's name"),
    ],
)
def test_bad_requests_say_what_is_wrong(data, text) -> None:
    with pytest.raises(ProtocolError, match=text.replace("(", r"\(").replace("'", "'")):
        parse_request(data)


def test_good_requests() -> None:
    assert parse_request({"version": 1, "type": "refresh"}).type == "refresh"
    request = parse_request({"version": 1, "type": "insert_cell", "study": "svc"})
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
