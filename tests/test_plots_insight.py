"""The plots of which hyperparameters mattered and of studies compared: importance bars, parallel coordinates and
best-so-far curves, as a user sees them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from test_plots import snapshot_of as plain_snapshot

from jupyter_hptune import Choice, Importance, Int, Real, Space, Study, compare, hp, tune
from jupyter_hptune import plots as plotting
from jupyter_hptune.core.samplers import RandomSampler
from jupyter_hptune.core.trial import Trial, TrialState
from jupyter_hptune.plots import figure_png, plot_compare, plot_importance, plot_parallel

SPACE = Space(
    {
        "lr": Real(1e-4, 1e-1, log=True),
        "units": Int(16, 256),
        "act": Choice(["relu", "tanh", "logistic"]),
        "momentum": Real(0.5, 0.99),
    }
)


def snapshot_of(trials, direction="minimize", space=SPACE):
    return plain_snapshot(trials, direction, space)


def trial(number, value, state=TrialState.COMPLETE, **params):
    params = {"lr": 1e-3, "units": 64, "act": "relu", "momentum": 0.9, **params}
    return Trial(number=number, params=params, state=state, value=value, started=0.0, finished=1.0)


def drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def texts(fig):
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]


def trial_lines(ax):
    return {ln.get_gid(): ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("trial ")}


def axes_of(ax):
    """The parallel plot's axes, by name, in order."""
    return {child.get_gid().removeprefix("axis "): child for child in ax.child_axes}


def tick_labels(axis):
    return [label.get_text() for label in axis.get_yticklabels()]


def luminance(color):
    r, g, b = to_rgb(color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# -- importance ------------------------------------------------------------------------------------------------------
IMPORTANCE = Importance(
    shares={"lr": 0.62, "units_2": 0.21, "momentum": 0.08, "dropout": 0.02},
    method="fANOVA, random forest of 64 trees",
    n_trials=40,
    used={"lr": 40, "units_2": 14, "momentum": 40, "dropout": 40},
)


def test_importance_draws_one_bar_per_hyperparameter_largest_on_top_as_percentages():
    fig = plot_importance(IMPORTANCE)
    drawn(fig)
    [ax] = fig.axes
    bars = sorted(ax.patches, key=lambda bar: -bar.get_y())  # from the top row down
    assert [round(bar.get_width(), 2) for bar in bars] == [0.62, 0.21, 0.08, 0.02]
    labels = [label.get_text() for label in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    assert labels == ["lr", "units_2 (14 of 40 trials)", "momentum", "dropout"], "only partly used names say so"
    assert {"62%", "21%", "8%", "2%"} <= {t.get_text().strip() for t in ax.texts}
    assert all(label.get_text().endswith("%") for label in ax.get_xticklabels() if label.get_text())
    title = fig._suptitle.get_text()
    assert "fANOVA, random forest of 64 trees" in title and "40 completed trials" in title


def test_importance_of_nothing_to_rank_says_so():
    fig = plot_importance(Importance(shares={}, method="fANOVA", n_trials=3, used={}))
    assert "no hyperparameter to rank" in texts(fig)


def test_importance_of_a_conditional_search_marks_partly_used_names_and_lists_those_too_few_used():
    def objective(params):
        x = hp.real(0.0, 1.0, name="x")
        if hp.choice(["a", "b"], name="branch") == "b":
            return 3 * x + hp.real(0.0, 1.0, name="y")
        if x > 0.9:
            return x + hp.real(0.0, 1.0, name="rare")
        return x

    study = tune(objective, method="random", n_trials=40, seed=0)
    result = study.importance()
    assert result.skipped == ("rare",) and 0 < result.used["y"] < 40, "the search has both kinds of names"
    fig = plot_importance(result)
    renderer = drawn(fig)
    [ax] = fig.axes
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert f"y ({result.used['y']} of 40 trials)" in labels and "x" in labels
    assert not any(label.startswith("rare") for label in labels)
    [note] = [t for t in texts(fig) if t.startswith("too few trials to rank")]
    assert note == f"too few trials to rank: rare (used by {result.used['rare']})"
    [shown] = [t for t in ax.texts if t.get_text() == note]
    box = shown.get_window_extent(renderer)
    assert box.y0 >= fig.bbox.y0 and box.y1 < ax.xaxis.label.get_window_extent(renderer).y0, "below the axis label"


# -- parallel coordinates --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def searched():
    def objective(p):
        if p["units"] > 245:
            raise ValueError("out of memory")
        act = {"relu": 0.0, "tanh": 0.3, "logistic": 0.6}[p["act"]]
        return (math.log10(p["lr"]) + 2.5) ** 2 + (p["units"] - 64) ** 2 / 1e4 + act + p["momentum"]

    study = Study(SPACE)
    study.optimize(objective, 40, sampler=RandomSampler(seed=0))
    return study


def test_parallel_has_an_axis_per_hyperparameter_in_the_spaces_order_and_the_score_last(searched):
    fig = plot_parallel(searched.snapshot(), searched.space)
    drawn(fig)
    ax = fig.axes[0]
    assert list(axes_of(ax)) == ["lr", "units", "act", "momentum", "score"]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["lr", "units", "act", "momentum", "score"]
    axes = axes_of(ax)
    assert tick_labels(axes["lr"]) == ["0.0001", "0.001", "0.01", "0.1"], "a log range: ticks at powers of ten"
    assert tick_labels(axes["act"]) == ["relu", "tanh", "logistic"], "a choice: its options in order"
    assert all(label.isdigit() for label in tick_labels(axes["units"])), "an Int: whole numbers"
    positions = [axes["lr"].transData.transform((0, tick))[1] for tick in axes["lr"].get_yticks()]
    assert np.allclose(np.diff(positions), np.diff(positions)[0]), "powers of ten evenly spaced: a log scale"


def test_parallel_draws_a_line_per_completed_trial_through_its_values(searched):
    snapshot = searched.snapshot()
    done = [t for t in snapshot.trials if t.state is TrialState.COMPLETE]
    failed = [t for t in snapshot.trials if t.state is TrialState.FAILED]
    assert failed, "the search has failed trials"
    fig = plot_parallel(snapshot, searched.space)
    drawn(fig)
    ax = fig.axes[0]
    lines = trial_lines(ax)
    assert set(lines) == {f"trial {t.number}" for t in done}, "failed trials not drawn"
    assert f"{len(failed)} failed not drawn" in ax.get_title()
    t = done[0]
    ys = lines[f"trial {t.number}"].get_ydata()
    assert ys[0] == pytest.approx(math.log(t.params["lr"] / 1e-4) / math.log(1e3))
    assert ys[1] == pytest.approx((t.params["units"] - 16) / 240)
    assert ys[2] == pytest.approx((["relu", "tanh", "logistic"].index(t.params["act"]) + 0.5) / 3)
    # The score axis: the line ends at its score's height on the score axis.
    score_axis = axes_of(ax)["score"]
    assert score_axis.transData.transform((0, t.value))[1] == pytest.approx(ax.transData.transform((0, ys[-1]))[1])


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_parallel_highlights_the_best_trials_and_colours_better_scores_brighter(direction):
    scores = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0, 3.5, 8.0, 7.0]
    snapshot = snapshot_of([trial(i, v, lr=10 ** -(1 + i / 4)) for i, v in enumerate(scores)], direction)
    fig = plot_parallel(snapshot, SPACE, best=3)
    ax = fig.axes[0]
    lines = trial_lines(ax)
    order = sorted(range(len(scores)), key=lambda i: scores[i], reverse=direction == "maximize")
    best = {f"trial {i}" for i in order[:3]}
    red = {gid for gid, ln in lines.items() if ln.get_color() == plotting.BEST}
    assert red == best
    assert all(lines[gid].get_linewidth() > lines[other].get_linewidth() for gid in best for other in set(lines) - best)
    assert all(lines[gid].get_zorder() > lines[other].get_zorder() for gid in best for other in set(lines) - best)
    better, worse = lines[f"trial {order[3]}"], lines[f"trial {order[-1]}"]
    assert luminance(better.get_color()) > luminance(worse.get_color()), "bright is better, whatever the direction"
    [colorbar] = [a for a in fig.axes if "bright is better" in a.get_ylabel()]
    assert colorbar.get_visible()


def test_parallel_of_a_conditional_space_drops_unused_values_to_an_unused_mark():
    def objective(params):
        score = 0.0
        for i in range(hp.int(1, 3, name="n_layers")):
            score += math.log2(hp.int(8, 256, log=True, name=f"units_{i}"))
        if hp.choice(["sgd", "adam"], name="opt") == "sgd":
            score += hp.real(0.0, 0.99, name="momentum")
        return score

    study = tune(objective, method="random", n_trials=20, seed=0)
    snapshot = study.snapshot()
    fig = plot_parallel(snapshot, snapshot.space)
    ax = fig.axes[0]
    names = list(snapshot.space)
    lines = trial_lines(ax)
    assert len(lines) == 20
    for t in snapshot.trials:
        ys = lines[f"trial {t.number}"].get_ydata()
        for name, y in zip(names, ys):
            if name in t.params:
                assert 0 <= y <= 1, (t.number, name)
            else:
                assert y == plotting.UNUSED < 0, (t.number, name)
    marks = {ln.get_gid() for ln in ax.get_lines() if (ln.get_gid() or "").startswith("unused ")}
    assert marks == {"unused units_1", "unused units_2", "unused momentum"}
    assert sum(t.get_text() == "unused" for t in ax.texts) == 3


def test_parallel_of_no_and_of_one_trial():
    empty = plot_parallel(snapshot_of([]), SPACE)
    ax = empty.axes[0]
    assert not trial_lines(ax)
    assert "no completed trial yet" in ax.get_title()
    assert tick_labels(axes_of(ax)["score"]) == [], "no scores, no score ticks"
    one = plot_parallel(snapshot_of([trial(0, 2.5)]), SPACE)
    ax = one.axes[0]
    [line] = trial_lines(ax).values()
    assert line.get_color() == plotting.BEST
    assert "1 trial, the best in red" in ax.get_title()
    assert all(math.isfinite(y) for y in line.get_ydata())


def test_parallel_of_200_trials_and_12_hyperparameters_keeps_each_axis_labels_apart():
    kinds = [Real(1e-5, 1.0, log=True), Int(1, 10), Choice(["alpha", "beta", "gamma", "delta"])]
    space = Space({f"param_{i}": kinds[i % 3] for i in range(12)})
    study = Study(space)
    study.optimize(lambda p: sum(len(str(v)) for v in p.values()) / 10, 200, sampler=RandomSampler(seed=0))
    fig = plot_parallel(study.snapshot(), study.space)
    renderer = drawn(fig)
    ax = fig.axes[0]
    assert len(trial_lines(ax)) == 200
    axes = list(axes_of(ax).values())
    assert len(axes) == 13
    for here, there in zip(axes, axes[1:]):
        labels_end = max(label.get_window_extent(renderer).x1 for label in here.get_yticklabels())
        next_axis = there.get_window_extent(renderer).x0
        assert labels_end < next_axis, "an axis's tick labels stop before the next axis"
    names = [label.get_window_extent(renderer) for label in ax.get_xticklabels()]
    assert all(a.x1 < b.x0 for a, b in zip(names, names[1:])), "the names do not overlap"
    assert all(fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 for box in names), "nor leave the figure"


def test_parallel_leaves_out_trials_outside_a_narrowed_space():
    narrowed = Space({**dict(SPACE.items()), "lr": Real(1e-3, 1e-1, log=True)})
    snapshot = snapshot_of([trial(0, 1.0, lr=1e-4), trial(1, 2.0, lr=1e-2)])
    assert set(trial_lines(plot_parallel(snapshot, narrowed).axes[0])) == {"trial 1"}


# -- compare ---------------------------------------------------------------------------------------------------------
def run_rows(values, start=0.0, step=1.0):
    return [
        Trial(
            number=i,
            params={"lr": 1e-3},
            state=TrialState.COMPLETE if v is not None else TrialState.FAILED,
            value=v,
            started=start + i * step,
            finished=start + (i + 1) * step,
        )
        for i, v in enumerate(values)
    ]


def test_compare_draws_each_studys_best_so_far_and_a_median_for_runs_of_one_name():
    studies = [
        snapshot_of(run_rows([5.0, 4.0, 6.0, 2.0])),
        snapshot_of(run_rows([3.0, None, 3.5, 1.0])),
        snapshot_of(run_rows([9.0, 8.0, 1.0, 0.5])),
        snapshot_of(run_rows([4.0, 3.0, 2.0, 1.5])),
    ]
    comparison = compare(studies, names=["random", "random", "random", "bayes"])
    fig = comparison.plot()
    [ax] = fig.axes
    thin = [ln for ln in ax.get_lines() if ln.get_gid() == "run random"]
    assert len(thin) == 3 and all(ln.get_alpha() < 1 for ln in thin)
    [median] = [ln for ln in ax.get_lines() if ln.get_gid() == "median random"]
    # By hand: after 1..4 trials the runs' best are 5,4,4,2 / 3,3,3,1 / 9,8,1,0.5; the median of each column.
    assert list(median.get_xdata()) == [1, 2, 3, 4]
    assert list(median.get_ydata()) == [5.0, 4.0, 3.0, 1.0]
    [single] = [ln for ln in ax.get_lines() if ln.get_gid() == "run bayes"]
    assert list(single.get_ydata()) == [4.0, 3.0, 2.0, 1.5, 1.5]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["random (median of 3 runs)", "bayes"]
    assert ax.get_xlabel() == "trials run" and "minimize" in ax.get_ylabel()
    assert ax.get_title() == "Best score so far: random vs bayes"


def test_compare_by_time_and_on_log_axes():
    slow = snapshot_of(run_rows([5.0, 4.0, 3.0], step=10.0))
    fast = snapshot_of(run_rows([6.0, 2.0, 1.0], step=1.0))
    fig = plot_compare(compare([slow, fast], names=["slow", "fast"]), x="time", xscale="log", yscale="log")
    [ax] = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "time since the first trial started (s)"
    [slow_line] = [ln for ln in ax.get_lines() if ln.get_gid() == "run slow"]
    assert list(slow_line.get_xdata()) == [10.0, 20.0, 30.0, 30.0]
    long = snapshot_of(run_rows([5.0, 4.0], step=400.0))
    ax = compare([long]).plot(x="time").axes[0]
    assert ax.get_xlabel() == "time since the first trial started (min)"
    assert list(ax.get_lines()[0].get_xdata()) == pytest.approx([400 / 60, 800 / 60, 800 / 60])


def test_compare_with_a_bad_x_names_it():
    comparison = compare([snapshot_of(run_rows([1.0]))])
    with pytest.raises(ValueError, match=r"x must be 'trials' or 'time', got 'seconds'"):
        comparison.plot(x="seconds")


def test_compare_of_studies_without_a_completed_trial_says_so():
    fig = compare([snapshot_of(run_rows([None, None]))]).plot()
    assert "no completed trial to compare" in texts(fig)


# -- all of them -----------------------------------------------------------------------------------------------------
def all_new_plots(searched):
    comparison = compare([searched.snapshot(), searched.snapshot()], names=["a", "b"])
    return {
        "importance": lambda fig=None: plot_importance(IMPORTANCE, fig=fig),
        "parallel": lambda fig=None: plot_parallel(searched.snapshot(), searched.space, fig=fig),
        "compare": lambda fig=None: plot_compare(comparison, fig=fig),
    }


def test_each_new_plot_renders_at_the_notebook_size_with_readable_text(searched):
    for name, draw in all_new_plots(searched).items():
        fig = draw()
        assert isinstance(fig, Figure)
        drawn(fig)
        shown = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize")) if t.get_text() and t.get_visible()]
        small = {t.get_text(): t.get_fontsize() for t in shown if t.get_fontsize() * plotting.CSS_DPI / 72 < 13}
        assert not small, f"{name}: text shown below 13 CSS px: {small}"
        assert figure_png(fig).startswith(b"\x89PNG")


def test_each_new_plot_draws_into_a_subfigure(searched):
    root = Figure(figsize=(16, 5))
    for subfig, draw in zip(root.subfigures(1, 3), all_new_plots(searched).values()):
        assert draw(subfig) is subfig and subfig.axes
    assert figure_png(root).startswith(b"\x89PNG")


def inside_figure(fig, artist):
    renderer = drawn(fig)
    box, page = artist.get_window_extent(renderer), fig.bbox
    return box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1 and box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1


def test_importance_of_one_whole_share_keeps_its_percentage_on_the_figure_and_ticks_within_100_percent():
    result = Importance(shares={"lr": 1.0, "units": 0.0}, method="fANOVA", n_trials=20, used={"lr": 20, "units": 20})
    fig = plot_importance(result)
    ax = fig.axes[0]
    [label] = [t for t in ax.texts if t.get_text().strip() == "100%"]
    renderer = drawn(fig)
    assert label.get_window_extent(renderer).x1 <= ax.get_window_extent(renderer).x1, "the label is cut off"
    assert max(ax.get_xticks()) == pytest.approx(1.0), "no share is above 100%: no tick there"


def test_parallel_of_two_hyperparameters_keeps_its_whole_title_on_the_figure():
    space = Space({"lr": Real(1e-4, 1e-1, log=True), "n": Int(1, 5)})
    trials = [
        Trial(
            number=1000 + i,
            params={"lr": 10 ** -(1 + i % 3), "n": 1 + i % 5},
            state=TrialState.COMPLETE,
            value=-0.000123456 * (1 + i),
            started=0.0,
            finished=1.0,
        )
        for i in range(12)
    ]
    fig = plot_parallel(snapshot_of(trials, "maximize", space=space), space)
    title = fig.axes[0].title
    assert "at trial 1000" in title.get_text()
    assert inside_figure(fig, title)
