"""The search space: validation with clear errors, defaults, grids, and storage round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_hptune import Choice, Int, Real, Space
from jupyter_hptune.core.space import SpaceError


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Real(1.0, 0.5), r"low \(1.0\) must be less than high \(0.5\)"),
        (lambda: Real(0.0, 0.0), "must be less than high"),
        (lambda: Real(0.0, 1.0, log=True), r"log range needs low > 0, got low=0.0"),
        (lambda: Int(-3, 10, log=True), "log range needs low > 0"),
        (lambda: Int(1.5, 3), "low must be an integer, got float 1.5"),
        (lambda: Real("a", 1), "low must be a number, got str 'a'"),
        (lambda: Real(0, math.inf), "high must be finite"),
        (lambda: Real(0, 1, default=2), r"default 2.0 is outside the range \[0.0, 1.0\]"),
        (lambda: Int(1, 10, default=11), r"default 11 is outside the range \[1, 10\]"),
        (lambda: Choice([]), "options must not be empty"),
        (lambda: Choice("abc"), "options must be a list"),
        (lambda: Choice(["a", "a"]), "option 'a' is listed twice"),
        (lambda: Choice([object()]), "can't be stored"),
        (lambda: Choice(["a", "b"], default="c"), "default 'c' is not one of the options"),
    ],
)
def test_bad_dimension_names_what_is_wrong(build, message):
    with pytest.raises(SpaceError, match=message):
        build()


def test_defaults_are_the_middle_of_the_range_or_the_first_option():
    assert Real(0, 10).default_value == 5.0
    assert Real(1e-4, 1e-2, log=True).default_value == pytest.approx(1e-3)
    assert Int(16, 256, log=True).default_value == 64
    assert Int(1, 10).default_value == 5
    assert Choice(["relu", "tanh"]).default_value == "relu"
    assert Choice(["relu", "tanh"], default="tanh").default_value == "tanh"
    assert Real(0, 1, default=0.25).default_value == 0.25


def test_numpy_bounds_become_python_numbers():
    dim = Int(np.int64(1), np.int64(9), default=np.int64(3))
    assert type(dim.low) is int and type(dim.default) is int
    real = Real(np.float32(0.5), np.float64(2))
    assert type(real.low) is float
    assert Choice([np.str_("a"), "b"]).options == ("a", "b")
    assert type(Choice([np.str_("a"), "b"]).options[0]) is str


def test_grid_values_are_evenly_spaced_and_log_spaced_for_log_ranges():
    assert Real(0, 1).grid(3) == [0.0, 0.5, 1.0]
    assert Real(1e-3, 1e-1, log=True).grid(3) == pytest.approx([1e-3, 1e-2, 1e-1])
    assert Int(2, 5).grid(3) == [2, 3, 4, 5]
    assert Choice(["a", "b"]).grid(7) == ["a", "b"]


def test_space_validates_points_and_fills_defaults():
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256), "act": Choice(["relu", "tanh"])})
    assert space.validate({"units": 64}, fill_defaults=True) == {
        "lr": pytest.approx(0.00316, rel=1e-2),
        "units": 64,
        "act": "relu",
    }
    with pytest.raises(SpaceError, match=r"hyperparameter 'units': value 300 is outside the range \[16, 256\]"):
        space.validate({"units": 300}, fill_defaults=True)
    with pytest.raises(SpaceError, match="unknown hyperparameter 'momentum'"):
        space.validate({"momentum": 0.9}, fill_defaults=True)
    with pytest.raises(SpaceError, match="hyperparameter 'act': value 'elu' is not one of the options"):
        space.validate({"act": "elu"}, fill_defaults=True)


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        ({"not valid": Real(0, 1)}, "must be a Python identifier"),
        ({"x": (0, 1)}, "hyperparameter 'x': expected Real, Int or Choice"),
    ],
)
def test_bad_space(dims, message):
    with pytest.raises(SpaceError, match=message):
        Space(dims)


def test_json_round_trip_keeps_types_and_needs_no_code():
    space = Space(
        {
            "lr": Real(1e-4, 1e-1, log=True, default=1e-3),
            "layers": Choice([(64,), (64, 32), None]),
            "flag": Choice([True, False]),
            "n": Int(1, 5),
        }
    )
    again = Space.from_json(space.to_json())
    assert again == space
    assert again["layers"].options == ((64,), (64, 32), None)
    assert again["lr"].default == 1e-3
    params = {"lr": 0.01, "layers": (64, 32), "flag": False, "n": 3}
    assert again.decode(space.encode(params)) == params


def test_differences_name_each_changed_parameter():
    old = Space({"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256), "act": Choice(["relu", "tanh"])})
    new = Space({"lr": Real(1e-4, 1e-1, log=True, default=0.01), "units": Int(8, 256), "drop": Real(0, 0.5)})
    changes = new.differences(old)
    assert "'units' changed from int [16, 256] to int [8, 256]" in changes
    assert any(c.startswith("'act' was removed") for c in changes)
    assert any(c.startswith("'drop' was added") for c in changes)
    assert not any("lr" in c for c in changes), "a changed default does not change the search"


def test_choice_options_keep_their_types():
    choice = Choice([1, 1.0, True])
    assert choice.index(True) == 2
    assert choice.index(1.0) == 1
