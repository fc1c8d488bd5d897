"""Side-by-side benchmark: jupyter-hptune's bayes and random search against scikit-optimize and Optuna.

Every method gets the same problem, seed and budget. Each search runs to --trials (50) and the best value so
far is read at each budget (20 and 50) from that same run. On a conditional problem (Jenatton, MLP-digits-layers)
our search and Optuna's TPE run its tree define-by-run; scikit-optimize and Optuna's GP sampler get the flattened
space. Prints two markdown tables to stdout:

1. quality: one row per problem and budget, one column per method; each cell is the median over seeds of the
   simple regret (best so far - known minimum), or of the best objective for the ML problems, whose minimum
   is unknown. The best cell of each row is in bold.
2. optimiser overhead: each method's own time per trial (a trial's wall time less the objective's), in ms,
   averaged over trials 46-50, 96-100 and 196-200 and over the whole of one 200-trial run on Hartmann6 (seed 0);
   --timing-trials and --timing-problem change the run (e.g. 100 trials on Jenatton).

With 20 seeds or more (twice --block), a steadiness table counts, per problem and budget, the blocks of 10
seeds (0-9, 10-19, ...) in which each method has the lowest median: how much the quality table's winner
depends on which seeds were drawn. --growth adds our bayes overhead at trials 50, 100, 200 and 300 (one run
to 300). --json PATH saves every raw curve, params and timing with the package versions, so two versions can be
compared; --from-json PATH reprints the tables of a saved run. Progress goes to stderr.

Run: python benchmarks/compare.py [--seeds 10] [--methods ...] [--problems ...] [--json out.json]
                                  [--timing/--no-timing] [--growth] [--jobs N] [--block 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from problems import PROBLEMS, STANDINS, Problem, Suggest  # noqa: E402

from jupyter_hptune import Choice, Int, TrialState, hp, tune  # noqa: E402

METHODS = ("hptune-bayes", "hptune-random", "skopt-gp", "optuna-tpe", "optuna-gp")
NEEDS = {  # the packages each method imports; a method whose package is missing is skipped
    "hptune-bayes": ("skopt",),
    "hptune-random": (),
    "skopt-gp": ("skopt",),
    "optuna-tpe": ("optuna",),
    "optuna-gp": ("optuna", "torch", "scipy"),
}
TIMING_PROBLEM = "Hartmann6"
TIMING_WINDOWS = ((46, 50), (96, 100), (196, 200))
GROWTH_AT = (50, 100, 200, 300)
WINDOW = 5  # trials averaged for each overhead figure
VERSIONED = (
    "jupyter-hptune",
    "scikit-optimize",
    "optuna",
    "torch",
    "scikit-learn",
    "numpy",
    "scipy",
    "threadpoolctl",
)


# -- running one search --------------------------------------------------------------------------------------------
class TimedObjective:
    """The problem's objective, timing each call and noting the Python types of the params it is given."""

    def __init__(self, objective: Callable[[dict[str, Any]], float]) -> None:
        self.objective = objective
        self.values: list[float] = []
        self.seconds: list[float] = []
        self.types: dict[str, set[str]] = {}
        self.params: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any]) -> float:
        self.note(params)
        return self.timed(lambda: self.objective(params))

    def timed(self, call: Callable[[], float]) -> float:
        """Call, timing it and keeping its value."""
        start = time.perf_counter()
        value = call()
        self.seconds.append(time.perf_counter() - start)
        self.values.append(float(value))
        return value

    def note(self, params: dict[str, Any]) -> None:
        """Note a trial's params, and their Python types."""
        for name, value in params.items():
            self.types.setdefault(name, set()).add(f"{type(value).__module__}.{type(value).__qualname__}")
        self.params.append({name: value.item() if hasattr(value, "item") else value for name, value in params.items()})


def run_hptune(method: str, problem: Problem, seed: int, n_trials: int) -> dict[str, Any]:
    """Our tune(); the optimiser's time per trial is the gap between a trial's start and the previous one's end.

    A conditional problem's tree declares its hyperparameters with hp as each trial runs, and gets no space.
    """
    objective = TimedObjective(problem.objective)
    method = method.removeprefix("hptune-")
    began = time.time()
    if problem.tree is not None:
        tree = problem.tree
        study = tune(lambda params: objective.timed(lambda: tree(hp)), method=method, n_trials=n_trials, seed=seed)
        for trial in study.trials:
            objective.note(trial.params)
    else:
        study = tune(objective, problem.space, method=method, n_trials=n_trials, seed=seed)
    trials = study.trials
    values = [t.value if t.state is TrialState.COMPLETE else math.nan for t in trials]
    objective_seconds = [t.finished - t.started for t in trials]
    previous_end = [began] + [t.finished for t in trials[:-1]]
    overhead = [t.started - end for t, end in zip(trials, previous_end)]
    return _record(values, objective_seconds, overhead, objective)


def run_skopt(problem: Problem, seed: int, n_trials: int) -> dict[str, Any]:
    """scikit-optimize's gp_minimize with its defaults; the optimiser's time is each call's wall time less the objective's."""
    from skopt import gp_minimize
    from skopt.space import Categorical, Integer, Real

    names = list(problem.space)
    dimensions = []
    for name, dim in problem.space.items():
        if isinstance(dim, Choice):
            dimensions.append(Categorical(list(dim.options), name=name))
        else:
            kind = Integer if isinstance(dim, Int) else Real
            dimensions.append(kind(dim.low, dim.high, prior="log-uniform" if dim.log else "uniform", name=name))
    objective = TimedObjective(problem.objective)
    stamps = [time.perf_counter()]
    gp_minimize(
        lambda x: objective(dict(zip(names, x))),
        dimensions,
        n_calls=n_trials,
        random_state=seed,
        callback=lambda result: stamps.append(time.perf_counter()),
    )
    return _record_from_stamps(objective, stamps)


def run_optuna(method: str, problem: Problem, seed: int, n_trials: int) -> dict[str, Any]:
    """Optuna's TPESampler or GPSampler with their defaults, timed like scikit-optimize.

    On a conditional problem TPE runs its tree define-by-run with multivariate=True and group=True (its setting
    for conditional spaces); the GP sampler, which needs a fixed space, gets the flattened one.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tree = problem.tree if method == "optuna-tpe" else None
    if tree is not None:
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    elif method == "optuna-tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.GPSampler(seed=seed)
    objective = TimedObjective(problem.objective)

    def suggest(trial: Any) -> float:
        if tree is not None:
            return objective.timed(lambda: tree(Suggest(trial)))
        return objective(Suggest(trial).point(problem.space))

    stamps = [time.perf_counter()]
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(suggest, n_trials=n_trials, callbacks=[lambda study, trial: stamps.append(time.perf_counter())])
    if tree is not None:
        for trial in study.trials:
            objective.note(trial.params)
    return _record_from_stamps(objective, stamps)


def _record_from_stamps(objective: TimedObjective, stamps: list[float]) -> dict[str, Any]:
    walls = [b - a for a, b in zip(stamps, stamps[1:])]
    overhead = [wall - spent for wall, spent in zip(walls, objective.seconds)]
    return _record(objective.values, objective.seconds, overhead, objective)


def _record(
    values: list[float], objective_seconds: list[float], overhead: list[float], objective: TimedObjective
) -> dict[str, Any]:
    best, curve = math.inf, []
    for value in values:
        if not math.isnan(value):
            best = min(best, value)
        curve.append(best if math.isfinite(best) else None)
    return {
        "values": [None if math.isnan(v) else v for v in values],
        "best_so_far": curve,
        "objective_seconds": objective_seconds,
        "overhead_seconds": overhead,
        "param_types": {name: sorted(kinds) for name, kinds in objective.types.items()},
        "params": objective.params,
    }


def run_one(method: str, problem_name: str, seed: int, n_trials: int, threads: int | None = None) -> dict[str, Any]:
    """One search, never raising: an error is recorded in the result, and so are the warnings it raised."""
    if threads is not None:
        limit_threads(threads)
    problem = PROBLEMS[problem_name] if problem_name in PROBLEMS else STANDINS[problem_name]
    result: dict[str, Any] = {"problem": problem_name, "method": method, "seed": seed, "n_trials": n_trials}
    caught: Counter[str] = Counter()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            if method == "skopt-gp":
                result.update(run_skopt(problem, seed, n_trials))
            elif method.startswith("optuna-"):
                result.update(run_optuna(method, problem, seed, n_trials))
            else:
                result.update(run_hptune(method, problem, seed, n_trials))
            result["error"] = None
        except Exception as error:
            result["error"] = f"{type(error).__name__}: {error}"
            result["traceback"] = traceback.format_exc()
    for w in seen:
        caught[f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}"] += 1
    result["warnings"] = dict(caught)
    result["wall_seconds"] = time.perf_counter() - start
    return result


def limit_threads(threads: int) -> None:
    """Cap BLAS/OpenMP (and torch) threads: on this 2-core machine two OpenBLAS threads made the MLP 20x slower."""
    from threadpoolctl import threadpool_limits

    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)  # for libraries loaded later, and for worker processes
    threadpool_limits(threads)
    torch = sys.modules.get("torch")
    if hasattr(torch, "set_num_threads"):
        torch.set_num_threads(threads)  # type: ignore[union-attr]


# -- what is installed -----------------------------------------------------------------------------------------------
def missing_package(method: str) -> str | None:
    """The first package a method needs that cannot be imported, or None."""
    for module in NEEDS[method]:
        try:
            __import__(module)
        except Exception as error:  # ImportError, or a broken install
            return f"{module}: {type(error).__name__}: {error}"
    return None


def versions() -> dict[str, Any]:
    """The versions of the packages that matter, and a digest of our package's source (its version can stay put)."""
    found: dict[str, Any] = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    import jupyter_hptune

    root = Path(jupyter_hptune.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    found["jupyter_hptune_source_sha256"] = digest.hexdigest()[:16]
    found["jupyter_hptune_path"] = str(root)
    found["python"] = platform.python_version()
    found["platform"] = platform.platform()
    found["cpus"] = os.cpu_count()
    return found


# -- tables ----------------------------------------------------------------------------------------------------------
def fmt(value: float) -> str:
    """A number in 3 significant digits."""
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.2e}"
    return f"{value:.3g}"


def median_scores(
    runs: list[dict[str, Any]], method: str, name: str, budget: int, seeds: range | None = None
) -> tuple[float | None, int, int]:
    """The median regret (or best objective) of one method on one problem at a budget, and of how many seeds."""
    minimum = PROBLEMS[name].minimum
    chosen = [
        r for r in runs if r["problem"] == name and r["method"] == method and (seeds is None or r["seed"] in seeds)
    ]
    scores = [
        r["best_so_far"][budget - 1] - (minimum or 0.0)
        for r in chosen
        if not r["error"] and len(r["best_so_far"]) >= budget and r["best_so_far"][budget - 1] is not None
    ]
    return (statistics.median(scores) if scores else None), len(scores), len(chosen)


def lowest(medians: dict[str, float | None]) -> set[str]:
    """The methods whose median is the lowest (all of them on a tie)."""
    known = [v for v in medians.values() if v is not None]
    if not known:
        return set()
    return {m for m, v in medians.items() if v is not None and math.isclose(v, min(known), rel_tol=1e-9, abs_tol=1e-12)}


def quality_table(
    runs: list[dict[str, Any]], methods: Sequence[str], problems: Sequence[str], budgets: Sequence[int]
) -> str:
    """The markdown table of median regret (or median best objective) per problem, budget and method."""
    lines = [
        "| problem @ trials | measure | " + " | ".join(methods) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in methods) + " |",
    ]
    notes = []
    for name in problems:
        for budget in budgets:
            medians: dict[str, float | None] = {}
            for method in methods:
                medians[method], found, chosen = median_scores(runs, method, name, budget)
                if found < chosen:
                    notes.append(f"{name} @{budget}, {method}: median of {found} of {chosen} seeds (the rest failed)")
            best = lowest(medians)
            cells = []
            for method in methods:
                value = medians[method]
                if value is None:
                    cells.append("n/a")
                elif method in best:
                    cells.append(f"**{fmt(value)}**")
                else:
                    cells.append(fmt(value))
            measure = "regret" if PROBLEMS[name].minimum is not None else "best 1-acc"
            lines.append(f"| {name} @{budget} | {measure} | " + " | ".join(cells) + " |")
    return "\n".join(lines + [f"\n- {note}" for note in notes])


def block_table(
    runs: list[dict[str, Any]],
    methods: Sequence[str],
    problems: Sequence[str],
    budgets: Sequence[int],
    seeds: int,
    block: int,
) -> str:
    """The markdown table of how many blocks of `block` seeds each method has the lowest median in (ties count)."""
    blocks = [range(start, start + block) for start in range(0, seeds - block + 1, block)]
    lines = [
        "| problem @ trials | " + " | ".join(methods) + " |",
        "| --- | " + " | ".join("---:" for _ in methods) + " |",
    ]
    for name in problems:
        for budget in budgets:
            wins = Counter[str]()
            for seeds_of_block in blocks:
                wins.update(lowest({m: median_scores(runs, m, name, budget, seeds_of_block)[0] for m in methods}))
            cells = [f"{wins[m]} of {len(blocks)}" for m in methods]
            lines.append(f"| {name} @{budget} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def window_mean(values: Sequence[float], first: int, last: int) -> float | None:
    """The mean of values for trials first..last (1-based, inclusive), or None when the run is shorter."""
    if len(values) < last:
        return None
    return statistics.fmean(values[first - 1 : last])


def overhead_table(timing: dict[str, dict[str, Any]], windows: Sequence[tuple[int, int]]) -> str:
    """The markdown table of each method's own time per trial, in ms, over the given windows of trials."""
    head = " | ".join(f"trials {a}-{b}" for a, b in windows)
    lines = [
        f"| method | {head} | objective (mean) | whole run |",
        "| --- | " + " | ".join("---:" for _ in windows) + " | ---: | ---: |",
    ]
    for method, run in timing.items():
        if run["error"]:
            lines.append(f"| {method} | " + " | ".join("error" for _ in windows) + f" | | {run['error'][:60]} |")
            continue
        cells = []
        for a, b in windows:
            mean = window_mean(run["overhead_seconds"], a, b)
            cells.append("n/a" if mean is None else f"{mean * 1000:.1f} ms")
        objective = statistics.fmean(run["objective_seconds"]) * 1000
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {objective:.2f} ms | {run['wall_seconds']:.1f} s |")
    return "\n".join(lines)


def print_tables(data: dict[str, Any], block: int = 10) -> None:
    """Print every table a result (fresh or loaded from JSON) holds."""
    settings = data["settings"]
    if data.get("runs"):
        print(
            f"## Quality: median over seeds 0-{settings['seeds'] - 1} of the simple regret "
            f"(best so far - minimum); ML problems: of the best objective (1 - CV accuracy)\n"
        )
        print(quality_table(data["runs"], settings["methods"], settings["problems"], settings["budgets"]))
        print()
        if block > 0 and settings["seeds"] >= 2 * block:
            count = settings["seeds"] // block
            print(
                f"## Steadiness: in how many of the {count} blocks of {block} seeds (0-{block - 1}, "
                f"{block}-{2 * block - 1}, ...) each method has the lowest median (a tie counts for each)\n"
            )
            print(
                block_table(
                    data["runs"],
                    settings["methods"],
                    settings["problems"],
                    settings["budgets"],
                    settings["seeds"],
                    block,
                )
            )
            print()
    timing_problem = settings.get("timing_problem", TIMING_PROBLEM)  # older files: always Hartmann6
    if data.get("timing"):
        print(
            f"## Optimiser overhead per trial: one {settings['timing_trials']}-trial run on {timing_problem}, seed 0\n"
        )
        windows = [w for w in TIMING_WINDOWS if w[1] <= settings["timing_trials"]] or [
            (settings["timing_trials"] - WINDOW + 1, settings["timing_trials"])
        ]
        windows.append((1, settings["timing_trials"]))  # the mean over the whole run
        print(overhead_table(data["timing"], windows))
        print()
    if data.get("growth"):
        print(f"## Growth of hptune-bayes's overhead: one {max(GROWTH_AT)}-trial run on {TIMING_PROBLEM}, seed 0\n")
        print(overhead_table(data["growth"], [(n - WINDOW + 1, n) for n in GROWTH_AT]))
        print()
    if data.get("skipped"):
        for method, reason in data["skipped"].items():
            print(f"- skipped {method}: {reason}")
    found = data["meta"]["versions"]
    listed = ", ".join(f"{name} {found[name]}" for name in VERSIONED if found.get(name))
    print(
        f"\nVersions: {listed} (jupyter_hptune source {found['jupyter_hptune_source_sha256']}), Python {found['python']}."
    )
    searches = (
        f"{len(data['runs'])} searches of {settings['trials']} trials (seeds 0-{settings['seeds'] - 1}), "
        if data.get("runs")
        else ""
    )
    print(
        f"Settings: {searches}--jobs {settings['jobs']}, --threads {settings['threads']}, {found['cpus']} CPUs. "
        f"Whole benchmark: {data['meta']['seconds']:.0f} s."
    )


# -- main ------------------------------------------------------------------------------------------------------------
def log(message: str) -> None:
    """Progress, to stderr."""
    print(message, file=sys.stderr, flush=True)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per method and problem (default 10)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), metavar="METHOD",
                        help=f"methods to run (default all: {' '.join(METHODS)})")  # fmt: skip
    parser.add_argument("--problems", nargs="*", choices=list(PROBLEMS), default=list(PROBLEMS), metavar="PROBLEM",
                        help=f"problems to run (default all: {' '.join(PROBLEMS)}); none: only the timing runs")  # fmt: skip
    parser.add_argument("--trials", type=int, default=50, help="trials per search (default 50)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[20, 50], help="where to read the best so far")
    parser.add_argument("--timing", action=argparse.BooleanOptionalAction, default=True,
                        help="the 200-trial overhead runs on Hartmann6 (default on)")  # fmt: skip
    parser.add_argument("--timing-trials", type=int, default=200, help="trials of each timing run (default 200)")
    parser.add_argument("--timing-problem", choices=[*PROBLEMS, *STANDINS], default=TIMING_PROBLEM, metavar="PROBLEM",
                        help=f"the problem of the timing runs (default {TIMING_PROBLEM}; also {', '.join(STANDINS)})")  # fmt: skip
    parser.add_argument("--growth", action="store_true", help="our bayes overhead at 50, 100, 200, 300 trials")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for the quality searches (default: one per CPU); the timing runs run alone")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch threads per process (default 1)")
    parser.add_argument("--block", type=int, default=10,
                        help="with twice this many seeds or more, also count the blocks of this many seeds in which "
                             "each method has the lowest median (default 10; 0: no such table)")  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="write every raw result here")
    parser.add_argument("--from-json", metavar="PATH", help="print the tables of a saved run and exit")
    args = parser.parse_args(argv)
    if args.trials < max(args.budgets) or min(args.budgets) < 1:
        parser.error(f"budgets must lie in 1..--trials ({args.trials})")
    if args.seeds < 1 or args.jobs < 1 or args.threads < 1:
        parser.error("--seeds, --jobs and --threads must be positive")
    if args.block < 0:
        parser.error(f"--block must be 0 or more, got {args.block}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run the searches, print the tables, save the JSON."""
    args = parse(argv)
    if args.from_json:
        print_tables(json.loads(Path(args.from_json).read_text()), args.block)
        return
    began = time.perf_counter()
    skipped = {m: reason for m in args.methods if (reason := missing_package(m))}
    methods = [m for m in args.methods if m not in skipped]
    for method, reason in skipped.items():
        log(f"skipping {method}: {reason}")
    limit_threads(args.threads)
    data: dict[str, Any] = {
        "settings": {
            "seeds": args.seeds,
            "methods": methods,
            "problems": args.problems,
            "trials": args.trials,
            "budgets": sorted(args.budgets),
            "timing_trials": args.timing_trials,
            "timing_problem": args.timing_problem,
            "jobs": args.jobs,
            "threads": args.threads,
            "minima": {name: PROBLEMS[name].minimum for name in args.problems},
        },
        "skipped": skipped,
        "runs": [],
        "timing": {},
        "growth": {},
        "meta": {"versions": versions(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": sys.argv[1:]},
    }

    tasks = [(m, p, s) for p in args.problems for m in methods for s in range(args.seeds)]
    runs: list[dict[str, Any]] = []

    def done(result: dict[str, Any]) -> None:
        runs.append(result)
        curve = result.get("best_so_far") or []
        minimum = PROBLEMS[result["problem"]].minimum
        what = "best" if minimum is None else "regret"
        at = " ".join(
            f"{what}@{b}={fmt(curve[b - 1] - (minimum or 0.0))}"
            for b in sorted(args.budgets)
            if len(curve) >= b and curve[b - 1] is not None
        )
        status = f"ERROR {result['error']}" if result["error"] else at
        log(f"[{len(runs)}/{len(tasks)}] {result['problem']} {result['method']} seed {result['seed']}: {status} ({result['wall_seconds']:.1f} s)")  # fmt: skip

    if args.jobs == 1:
        for method, problem, seed in tasks:
            done(run_one(method, problem, seed, args.trials))
    elif tasks:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_one, m, p, s, args.trials, args.threads) for m, p, s in tasks]
            for future in as_completed(futures):
                done(future.result())
    order = {name: i for i, name in enumerate(METHODS)}
    data["runs"] = sorted(runs, key=lambda r: (args.problems.index(r["problem"]), order[r["method"]], r["seed"]))

    if args.timing:
        for method in methods:
            log(f"timing: {method}, {args.timing_trials} trials on {args.timing_problem}, seed 0 ...")
            data["timing"][method] = run_one(method, args.timing_problem, 0, args.timing_trials)
            log(f"timing: {method} took {data['timing'][method]['wall_seconds']:.1f} s")
    if args.growth:
        log(f"growth: hptune-bayes, {max(GROWTH_AT)} trials on {TIMING_PROBLEM}, seed 0 ...")
        data["growth"]["hptune-bayes"] = run_one("hptune-bayes", TIMING_PROBLEM, 0, max(GROWTH_AT))

    data["meta"]["seconds"] = time.perf_counter() - began
    report_oddities(data)
    print_tables(data, args.block)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1))
        log(f"wrote {args.json}")


def report_oddities(data: dict[str, Any]) -> None:
    """Summarise, on stderr, the errors, the warnings and the non-Python param types each method produced."""
    runs = data["runs"] + list(data["timing"].values()) + list(data["growth"].values())
    by_method: dict[str, dict[str, Any]] = {}
    for run in runs:
        seen = by_method.setdefault(run["method"], {"errors": Counter(), "warnings": Counter(), "types": set()})
        if run["error"]:
            seen["errors"][run["error"][:200]] += 1
        seen["warnings"].update(run["warnings"])
        for kinds in run.get("param_types", {}).values():
            seen["types"].update(k for k in kinds if not k.startswith("builtins."))
    for method, seen in by_method.items():
        for error, count in seen["errors"].items():
            log(f"{method}: {count} run(s) failed: {error}")
        for warning, count in seen["warnings"].most_common(5):
            log(f"{method}: warning x{count}: {warning}")
        if seen["types"]:
            log(f"{method}: passes params of non-builtin types {sorted(seen['types'])}")


if __name__ == "__main__":
    main()
