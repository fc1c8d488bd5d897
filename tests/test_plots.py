"""The plots: each draws what the user should see into a new figure or a given subfigure, and renders to PNG."""

from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np
import pytest
from matplotlib.figure import Figure

from jupyter_hptune import Choice, Int, Real, Space, Study
from jupyter_hptune import plots as plotting
from jupyter_hptune.core.events import StudySnapshot
from jupyter_hptune.core.posterior import posterior
from jupyter_hptune.core.samplers import RandomSampler
from jupyter_hptune.core.samplers.bayes import BayesSampler
from jupyter_hptune.core.trial import Trial, TrialState
from jupyter_hptune.plots import figure_png, plot_history, plot_params, plot_posterior, plot_surface
from jupyter_hptune.report import format_value
from jupyter_hptune.widgets import progress_text

SPACE = {
    "lr": Real(1e-4, 1e-1, log=True),
    "units": Int(16, 256),
    "act": Choice(["relu", "tanh", "logistic"]),
}


def objective(params):
    if params["units"] > 240:
        raise ValueError("out of memory")
    act = {"relu": 0.0, "tanh": 0.3, "logistic": 0.6}[params["act"]]
    return (math.log10(params["lr"]) + 2.5) ** 2 + (params["units"] - 64) ** 2 / 1e4 + act


@pytest.fixture(scope="module")
def bayes():
    """A bayes study with a manual first trial and some failures, and its sampler."""
    study = Study(SPACE)
    study.enqueue({"lr": 0.5e-2, "units": 250, "act": "tanh"})  # fails
    study.enqueue({"lr": 1e-2})
    sampler = BayesSampler(seed=0, initial_points=4)
    study.optimize(objective, 10, sampler=sampler)
    return study, sampler


@pytest.fixture(scope="module")
def bayes_posterior(bayes):
    study, sampler = bayes
    return posterior(study.space, study.trials, study.direction, sampler)


@pytest.fixture(scope="module")
def display_posterior(bayes):
    study, _ = bayes
    return posterior(study.space, study.trials, study.direction)


def snapshot_of(trials, direction="minimize", space=None):
    done = [t for t in trials if t.state is TrialState.COMPLETE]
    pick = max if direction == "maximize" else min
    return StudySnapshot(
        name="study",
        direction=direction,
        method="random",
        seed=0,
        n_planned=len(trials),
        first_number=0,
        trials=tuple(trials),
        best_trial=pick(done, key=lambda t: t.value) if done else None,
        started=0.0,
        elapsed=1.0,
        space=space,
    )


def trial(number, value=None, state=TrialState.COMPLETE, source="search", **params):
    params = {"lr": 1e-3, "units": 64, "act": "relu", **params}
    return Trial(number=number, params=params, state=state, value=value, source=source, started=0.0, finished=1.0)


def png_size(png):
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


def line(ax, label):
    [found] = [ln for ln in ax.get_lines() if ln.get_label().startswith(label)]
    return found


def all_plots(bayes, bayes_posterior):
    study, _ = bayes
    snapshot = study.snapshot()
    return {
        "history": lambda fig=None: plot_history(snapshot, fig=fig),
        "posterior": lambda fig=None: plot_posterior(bayes_posterior.slice("lr"), fig=fig),
        "surface": lambda fig=None: plot_surface(bayes_posterior.surface("lr", "units", points=10), fig=fig),
        "params": lambda fig=None: plot_params(snapshot, study.space, fig=fig),
    }


@pytest.mark.parametrize("name", ["history", "posterior", "surface", "params"])
def test_each_plot_makes_a_figure_that_renders_to_png(name, bayes, bayes_posterior):
    fig = all_plots(bayes, bayes_posterior)[name]()
    assert isinstance(fig, Figure)
    assert fig.axes
    width, height = png_size(figure_png(fig))
    assert width == round(fig.get_figwidth() * plotting.DPI) and height == round(fig.get_figheight() * plotting.DPI)
    assert png_size(figure_png(fig, dpi=40))[0] == round(fig.get_figwidth() * 40)


def test_plots_compose_into_subfigures_of_one_figure(bayes, bayes_posterior):
    plots = all_plots(bayes, bayes_posterior)
    root = Figure(figsize=(12, 7))
    subfigs = root.subfigures(2, 2).ravel()
    for subfig, draw in zip(subfigs, plots.values()):
        assert draw(subfig) is subfig
        assert subfig.axes, "the plot drew into its subfigure"
    assert len(root.axes) == sum(len(s.axes) for s in subfigs)
    assert png_size(figure_png(subfigs[0])) == (12 * plotting.DPI, 7 * plotting.DPI), (
        "a subfigure renders its whole figure"
    )


def test_history_draws_scores_best_so_far_failures_and_manual_trials(bayes):
    study, _ = bayes
    fig = plot_history(study.snapshot())
    [ax] = fig.axes
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    best = line(ax, "best so far")
    assert list(best.get_xdata()) == [t.number for t in done]
    np.testing.assert_array_equal(best.get_ydata(), np.minimum.accumulate([t.value for t in done]))
    failed = [t.number for t in study.trials if t.state is TrialState.FAILED]
    assert failed, "the study has failed trials"
    assert list(line(ax, "failed").get_xdata()) == failed
    manual = line(ax, "manual")
    assert list(manual.get_xdata()) == [1] and list(manual.get_ydata()) == [study.trials[1].value]
    assert list(line(ax, "trial").get_xdata()) == [t.number for t in done if t.source != "manual"]
    assert ax.get_title().startswith("Scores (minimize)")


def test_the_best_score_in_the_title_reads_as_in_the_progress_line_and_summary():
    snapshot = snapshot_of([trial(0, 0.9), trial(1, 0.97551)], direction="maximize")
    [ax] = plot_history(snapshot).axes
    assert f"best {format_value(0.97551)} at trial 1" in ax.get_title()
    assert "0.9755" in progress_text(snapshot) and "0.9755" in ax.get_title()


def test_history_of_a_maximize_study_tracks_the_running_max():
    scores = [0.2, 0.5, 0.4, 0.9, 0.1]
    snapshot = snapshot_of([trial(i, v) for i, v in enumerate(scores)], direction="maximize")
    [ax] = plot_history(snapshot).axes
    assert list(line(ax, "best so far").get_ydata()) == [0.2, 0.5, 0.5, 0.9, 0.9]
    assert ax.get_title().startswith("Scores (maximize)")


@pytest.mark.parametrize("states", [[], [TrialState.FAILED] * 3, [TrialState.COMPLETE], [TrialState.INTERRUPTED]])
def test_history_of_no_one_or_only_failed_trials(states):
    trials = [trial(i, 1.0 if s is TrialState.COMPLETE else None, state=s) for i, s in enumerate(states)]
    fig = plot_history(snapshot_of(trials))
    png_size(figure_png(fig))
    [ax] = fig.axes
    for state in (TrialState.FAILED, TrialState.INTERRUPTED):
        marked = [ln for ln in ax.get_lines() if ln.get_label().startswith(state.value)]
        assert sum(len(ln.get_xdata()) for ln in marked) == states.count(state)
    if not states:
        assert "no trials yet" in [t.get_text() for t in ax.texts]


def test_posterior_of_a_log_range_has_a_log_axis_and_its_acquisition(bayes_posterior):
    cut = bayes_posterior.slice("lr")
    fig = plot_posterior(cut)
    ax, acq_ax = fig.axes
    assert ax.get_xscale() == "log" and acq_ax.get_xscale() == "log"
    np.testing.assert_allclose(line(ax, "mean").get_ydata(), cut.mean)
    assert list(line(ax, "trials").get_xdata()) == cut.observed_x
    np.testing.assert_allclose(acq_ax.get_lines()[0].get_ydata(), cut.acquisition)
    assert list(line(acq_ax, "chose trial").get_xdata()) == [cut.next_x] * 2
    told = plot_posterior(dataclasses.replace(cut, next_trial=None))  # a model told every trial: its point is next
    assert list(line(told.axes[1], "next point").get_xdata()) == [cut.next_x] * 2
    assert "model of the Bayesian search" in ax.get_title()
    best = line(ax, "best trial")
    assert list(best.get_ydata()) == [min(cut.observed_y)]


def test_posterior_of_long_tailed_scores_keeps_the_trials_in_view():
    # Scores from 0 to 10^4: the model's band far from the trials runs to its limit; the axes stay on the trials.
    study, sampler = Study({"x": Real(0, 1)}), BayesSampler(seed=0)
    study.optimize(lambda p: 10 ** (4 * abs(p["x"] - 0.3)) - 1, 8, sampler=sampler)  # x above 0.75 not yet tried
    cut = posterior(study.space, study.trials, "minimize", sampler).slice("x")
    spread = max(cut.observed_y) - min(cut.observed_y)
    assert cut.high.max() == pytest.approx(max(cut.observed_y) + spread / 2), "the band runs to the scores' limit"
    ax = plot_posterior(cut).axes[0]
    bottom, top = ax.get_ylim()
    seen = [*cut.observed_y, *cut.mean]
    assert bottom <= min(seen) and max(seen) <= top < 2 * max(seen)
    assert bottom < 0, "the band below the trials shows, up to half their range"
    band = next(c for c in ax.collections if c.get_label() == "±2σ")
    drawn = band.get_paths()[0].vertices[:, 1]
    assert drawn.max() == pytest.approx(cut.high.max()) and drawn.min() == pytest.approx(cut.low.min())


def test_posterior_keeps_every_trial_in_view_however_far_from_the_band(bayes_posterior):
    cut = bayes_posterior.slice("lr")
    outlying = [*cut.observed_y[:-2], float(cut.low.min()) - 50, float(cut.high.max()) + 50]  # a diverged run or two
    ax = plot_posterior(dataclasses.replace(cut, observed_y=outlying)).axes[0]
    bottom, top = ax.get_ylim()
    assert bottom < min(outlying) and max(outlying) < top


def test_posterior_without_acquisition_has_one_axes(display_posterior):
    cut = display_posterior.slice("units")
    assert cut.acquisition is None
    fig = plot_posterior(cut)
    [ax] = fig.axes
    assert ax.get_xscale() == "linear"
    assert "GP fitted to the trials (for display)" in ax.get_title()


def test_posterior_of_a_choice_draws_bars_and_strips(bayes_posterior):
    cut = bayes_posterior.slice("act")
    fig = plot_posterior(cut)
    ax, acq_ax = fig.axes
    assert len(ax.patches) == 3
    np.testing.assert_allclose([p.get_y() + p.get_height() for p in ax.patches], cut.mean)
    assert [t.get_text() for t in acq_ax.get_xticklabels()] == ["relu", "tanh", "logistic"]
    points = line(ax, "trials")
    positions = [cut.x.index(v) for v in cut.observed_x]
    offsets = np.asarray(points.get_xdata()) - positions
    assert np.all(np.abs(offsets) < 0.5) and np.any(offsets != 0), "jittered within each option's strip"
    again = line(plot_posterior(cut).axes[0], "trials")
    np.testing.assert_array_equal(points.get_xdata(), again.get_xdata())


def test_surface_draws_the_mean_with_log_axes_and_option_ticks(bayes_posterior):
    surface = bayes_posterior.surface("lr", "units", points=12)
    fig = plot_surface(surface)
    ax, cax = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert cax.get_ylabel() == "predicted score"
    points = ax.collections[-1]
    np.testing.assert_allclose(points.get_offsets(), np.c_[surface.observed_x, surface.observed_y])

    by_choice = bayes_posterior.surface("act", "lr", points=12)
    ax, _ = plot_surface(by_choice).axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["relu", "tanh", "logistic"]
    assert ax.get_yscale() == "log"


def test_params_draws_one_panel_per_param_with_the_best_trial(bayes):
    study, _ = bayes
    snapshot = study.snapshot()
    fig = plot_params(snapshot, study.space)
    assert [ax.get_xlabel() for ax in fig.axes] == ["lr", "units", "act"]
    lr, units, act = fig.axes
    assert lr.get_xscale() == "log" and units.get_xscale() == "linear"
    assert [t.get_text() for t in act.get_xticklabels()] == ["relu", "tanh", "logistic"]
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert list(lr.get_lines()[0].get_xdata()) == [t.params["lr"] for t in done]
    stars = [ln for ln in units.get_lines() if ln.get_marker() == "*"]
    assert [list(s.get_xdata()) for s in stars] == [[snapshot.best_trial.params["units"]]]


def test_params_leave_out_trials_outside_a_narrowed_space():
    trials = [trial(0, 1.0), trial(1, 2.0, act="gelu"), trial(2, 0.5, lr=0.5), trial(3, 3.0, units=128)]
    narrowed = {"lr": Real(1e-4, 1e-1, log=True), "units": Int(16, 256), "act": Choice(["relu", "tanh"])}
    fig = plot_params(snapshot_of(trials), Study(narrowed).space)
    lr, units, act = fig.axes
    assert list(units.get_lines()[0].get_xdata()) == [64, 128]
    assert [t.get_text() for t in act.get_xticklabels()] == ["relu", "tanh"]


def test_params_of_no_completed_trial_draws_empty_panels():
    snapshot = snapshot_of([trial(0, state=TrialState.FAILED)])
    fig = plot_params(snapshot, Study(SPACE).space)
    assert len(fig.axes) == 3
    png_size(figure_png(fig))


def test_plots_of_a_random_search_use_the_display_gp():
    study = Study(SPACE)
    study.optimize(objective, 12, sampler=RandomSampler(seed=1))
    post = posterior(study.space, study.trials, study.direction)
    for fig in (plot_posterior(post.slice("act")), plot_surface(post.surface("units", "act", points=10))):
        assert "GP fitted to the trials (for display)" in fig.axes[0].get_title()
        png_size(figure_png(fig))


def test_a_clipped_model_view_says_so_and_an_unclipped_one_does_not():
    from test_posterior import outlier_trials

    space = Space({"x": Real(0, 1), "y": Real(0, 1)})
    trials = outlier_trials(1)
    sampler = BayesSampler(seed=0)
    sampler.plan(space, [], 20, 0, "maximize")
    sampler.ask(space, trials, len(trials))
    model = posterior(space, trials, "maximize", sampler)

    def texts(fig):
        return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)

    assert "clipped to the range" in texts(plot_surface(model.surface("x", "y")))
    assert "clipped to the range" not in texts(
        plot_surface(posterior(space, trials, "maximize").surface("x", "y"))  # the display GP, unwarped
    )


# -- the look: readable at the size shown, nothing cut off, nothing colliding ---------------------------------------
def drawn(fig):
    """The figure drawn (as figure_png draws it), so that its texts have their rendered extents."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def visible_ticks(ax, axis="x"):
    low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    ticks = ax.get_xticks() if axis == "x" else ax.get_yticks()
    return [t for t in ticks if low - 1e-9 <= t <= high + 1e-9]


def test_text_shows_at_least_at_the_notebook_size_and_renders_at_twice_the_pixels(bayes, bayes_posterior):
    for name, draw in all_plots(bayes, bayes_posterior).items():
        fig = draw()
        drawn(fig)
        texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize")) if t.get_text() and t.get_visible()]
        assert texts
        small = {t.get_text(): t.get_fontsize() for t in texts if t.get_fontsize() * plotting.CSS_DPI / 72 < 13}
        assert not small, f"{name}: text shown below 13 CSS px: {small}"
        assert png_size(figure_png(fig))[0] == round(fig.get_figwidth() * 2 * plotting.CSS_DPI), "2x for crisp text"


def test_integer_axes_have_only_integer_ticks():
    space = {"layers": Int(1, 4), "units": Int(16, 1000, log=True), "act": Choice(["relu", "tanh"])}
    study = Study(space)
    study.optimize(lambda p: p["layers"] + p["units"] / 1000 + (p["act"] == "tanh"), 8, sampler=RandomSampler(seed=0))
    snapshot = study.snapshot()
    fig = plot_params(snapshot, study.space)
    drawn(fig)
    for ax in fig.axes[:2]:
        assert all(float(t).is_integer() for t in visible_ticks(ax)), (ax.get_xlabel(), visible_ticks(ax))
    post = posterior(study.space, study.trials, study.direction)
    slice_fig = plot_posterior(post.slice("layers"))
    drawn(slice_fig)
    assert all(float(t).is_integer() for t in visible_ticks(slice_fig.axes[0])), visible_ticks(slice_fig.axes[0])
    surface = plot_surface(post.surface("layers", "act", points=10))
    drawn(surface)
    assert all(float(t).is_integer() for t in visible_ticks(surface.axes[0])), visible_ticks(surface.axes[0])
    few = plot_history(snapshot_of([trial(0, 1.0), trial(1, 0.5), trial(2, 0.7)]))
    drawn(few)
    assert all(float(t).is_integer() for t in visible_ticks(few.axes[0])), "trial numbers are whole"


def test_tick_labels_of_neighbouring_panels_do_not_overlap():
    space = {"units": Int(10, 1000, log=True), "lr": Real(1e-4, 1e-1, log=True), "momentum": Real(0.5, 0.99)}
    study = Study(space)
    study.enqueue({"units": 1000, "lr": 1e-4, "momentum": 0.99})  # tick labels at the ends of each axis
    study.enqueue({"units": 10, "lr": 1e-1, "momentum": 0.5})
    study.optimize(lambda p: p["lr"] * p["units"] + p["momentum"], 10, sampler=RandomSampler(seed=0))
    fig = plot_params(study.snapshot(), study.space)
    renderer = drawn(fig)

    def label_boxes(ax):
        ticks = set(visible_ticks(ax))
        return [
            label.get_window_extent(renderer)
            for tick, label in zip(ax.get_xticks(), ax.get_xticklabels())
            if tick in ticks and label.get_text()
        ]

    rows = [
        (left, right)
        for left, right in zip(fig.axes, fig.axes[1:])
        if left.get_position().y0 == right.get_position().y0
    ]
    assert rows, "neighbouring panels side by side"
    for left, right in rows:
        end = max(box.x1 for box in label_boxes(left))
        start = min(box.x0 for box in label_boxes(right))
        assert end < start, f"{left.get_xlabel()}'s and {right.get_xlabel()}'s tick labels collide"


def test_the_best_trials_star_is_drawn_whole_at_the_edge_of_its_axes(bayes, bayes_posterior):
    study, _ = bayes
    # The best trial at the edge of the range: its star sits on the axes' border.
    edge = snapshot_of([trial(0, 0.1, lr=1e-4, units=16), trial(1, 0.5, lr=1e-1, units=256), trial(2, 0.3)])
    figures = [
        plot_params(edge, Study(SPACE).space),
        plot_posterior(bayes_posterior.slice("lr")),
        plot_surface(bayes_posterior.surface("lr", "units", points=10)),
    ]
    for fig in figures:
        renderer = drawn(fig)
        stars = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_marker() == "*"]
        assert stars
        for star in stars:
            assert not star.get_clip_on(), "the star is not cut off by its axes"
            box = star.get_window_extent(renderer)
            assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
