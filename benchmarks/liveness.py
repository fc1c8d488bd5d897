"""How soon the live panel shows each finished trial: its score plot and its model views, in one real kernel.

Runs %%tune cells with the real panel and sleeping trials (0.5 s and 2 s; bayes and random) and records, inside the
kernel, every image the panel shows and which trials it reflects: the score plot (history) the completed trials of
the snapshot it drew, the model views (posterior slice and the open tab, Surface by default) the trials the model
was fitted on. For each finished trial it prints the delay until the score plot showed it and until the model views
did (from trial 2 on: a model needs 2 trials), max and median; then the slowdown the panel gives a zero-cost
200-trial random search: panel against --no-panel (alternating, median of the rounds; noisy on a busy machine),
and, steadier, the search's time over that time less the time spent in the panel's observer.

    python benchmarks/liveness.py [--rounds 3] [--tab surface|parameters|trials] [--no-overhead]

The kernel imports jupyter_hptune from this checkout (PYTHONPATH), so a copy of an older commit measures that commit.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import sys
import tempfile
from pathlib import Path

from display_overhead import CELL, run
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
TABS = {"surface": 0, "parameters": 1, "trials": 2}

# Wraps the plot functions, show_png and the panel's model in the kernel, to log (time, what, trials it reflects).
PROBE = """\
import time as _time
from jupyter_hptune import plots as _plots, widgets as _widgets
from jupyter_hptune.widgets import plots_view as _plots_view
_LOG, _LAST = [], {{"kind": None, "n": 0, "model": 0}}

def _wrap_plot(name, count):
    original = getattr(_plots, name)
    def plot(*args, **kwargs):
        _LAST["kind"], _LAST["n"] = name, count(args[0])
        return original(*args, **kwargs)
    setattr(_plots, name, plot)

_done = lambda snapshot: sum(t.state.value == "complete" for t in snapshot.trials)
_wrap_plot("plot_history", _done)
_wrap_plot("plot_posterior", lambda s: _LAST["model"])
_wrap_plot("plot_surface", lambda s: _LAST["model"])
_wrap_plot("plot_params", _done)
_show = _plots_view.show_png
def _show_png(image, png):
    _show(image, png)
    _LOG.append((_time.time(), _LAST["kind"], _LAST["n"]))
_plots_view.show_png = _show_png
_posterior = _plots_view.PlotsView._posterior
def _model(self, *args, **kwargs):
    found = _posterior(self, *args, **kwargs)
    _LAST["model"] = 0 if found is None else found.n_fitted
    return found
_plots_view.PlotsView._posterior = _model
_init = _widgets.TunePanel.__init__
def _panel(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.tabs.selected_index = {tab}
_widgets.TunePanel.__init__ = _panel
_SPENT = [0.0]
_follow = _widgets.TunePanel.__call__
def _call(self, event):
    began = _time.perf_counter()
    try:
        return _follow(self, event)
    finally:
        _SPENT[0] += _time.perf_counter() - began
_widgets.TunePanel.__call__ = _call
"""
RESULT = "print(repr((_LOG, [t.finished for t in s.trials], [t.state.value for t in s.trials]))); _LOG.clear()"
SEARCH_TIME = "print(repr((s.trials[-1].finished - s.snapshot().started, _SPENT[0])))"
SCENARIOS = [("bayes", 0.5, 12), ("random", 0.5, 12), ("bayes", 2.0, 6), ("random", 2.0, 6)]


def delays(log: list, finished: list[float], kinds: set[str], first: int) -> list[float]:
    """For each trial from `first` (0-based), the seconds from its finish until an image of `kinds` reflected it."""
    found = []
    for i in range(first, len(finished)):
        shown = [t for t, kind, n in log if kind in kinds and n >= i + 1]
        found.append(min(shown) - finished[i] if shown else float("inf"))
    return found


def trials_late(log: list, finished: list[float], kinds: set[str], first: int) -> int:
    """The most trials that finished after one (from `first`, 0-based) before an image of `kinds` reflected it."""
    late = 0
    for i, delay in enumerate(delays(log, finished, kinds, first), start=first):
        late = max(late, sum(i < j and t < finished[i] + delay for j, t in enumerate(finished)))
    return late


def figures(values: list[float]) -> str:
    return f"{max(values):.2f} | {statistics.median(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the overhead runs")
    parser.add_argument("--tab", choices=list(TABS), default="surface", help="the tab open below the plots")
    parser.add_argument("--no-overhead", action="store_true", help="skip the zero-cost 200-trial overhead runs")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        km, kc = start_new_kernel(kernel_name="python3", cwd=folder, env=env)
        try:
            run(kc, "%load_ext jupyter_hptune\nimport time")
            run(kc, "import jupyter_hptune; print(jupyter_hptune.__file__)")
            run(kc, PROBE.format(tab=TABS[args.tab]))
            run(kc, CELL.format(method="bayes", trials=5, seed=99, panel="", sleep=0))  # warm up imports and plots
            run(kc, RESULT)
            for method, sleep, trials in SCENARIOS:
                wall, _, messages = run(kc, CELL.format(method=method, trials=trials, seed=0, panel="", sleep=sleep))
                _, out, _ = run(kc, RESULT)
                log, finished, states = ast.literal_eval(out.strip())
                assert states == ["complete"] * trials, states
                history = delays(log, finished, {"plot_history"}, 0)
                model = delays(log, finished, {"plot_posterior"}, 1)
                tab = {"surface": "plot_surface", "parameters": "plot_params"}.get(args.tab)
                views = [max(pair) for pair in zip(model, delays(log, finished, {tab}, 1))] if tab else model
                late = max(trials_late(log, finished, {kind}, 1) for kind in ("plot_posterior", tab) if kind)
                rows.append((method, sleep, trials, history, model, views, late, wall, messages))
            overhead: dict[str, list[float]] = {"": [], "--no-panel": []}
            own: list[float] = []  # with the panel: the search's time over that time less the panel's own
            for round_ in range(0 if args.no_overhead else args.rounds):
                for panel in list(overhead) if round_ % 2 == 0 else list(overhead)[::-1]:
                    run(kc, "_SPENT[0] = 0.0")
                    run(kc, CELL.format(method="random", trials=200, seed=round_, panel=panel, sleep=0))
                    _, out, _ = run(kc, SEARCH_TIME)
                    search, spent = ast.literal_eval(out.strip())
                    overhead[panel].append(search)
                    if not panel:
                        own.append(search / (search - spent))
                run(kc, "_LOG.clear()")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    print(f"Liveness of the panel ({ROOT.name}, open tab: {args.tab}, Python {sys.version.split()[0]}), in seconds")
    print()
    print(
        "| method | trial | trials | score plot: max | median | posterior: max | median | "
        f"posterior + {args.tab}: max | median | trials late | cell | iopub messages |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for method, sleep, trials, history, model, views, late, wall, messages in rows:
        print(
            f"| {method} | {sleep:g} s | {trials} | {figures(history)} | {figures(model)} | {figures(views)} "
            f"| {late} | {wall:.1f} s | {messages} |"
        )
    print()
    print("trials late: the most trials that finished after one before the model views showed it (the rule: 1)")
    if not args.no_overhead:
        panel, text = statistics.median(overhead[""]), statistics.median(overhead["--no-panel"])
        print()
        print(
            f"zero-cost 200-trial random search, median of {args.rounds}: {text:.3f} s text only, {panel:.3f} s with "
            f"the live panel: ratio {panel / text:.3f} (target: at most 1.15); the search's time over its time less "
            f"the panel's own (its observer's calls): {statistics.median(own):.3f}"
        )


if __name__ == "__main__":
    main()
