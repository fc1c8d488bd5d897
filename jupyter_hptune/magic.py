"""The `%%tune` cell magic: a thin adapter from a notebook cell to a Study."""

from __future__ import annotations

import ast
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, argument_group, magic_arguments, parse_argstring

from .cell import compile_cell
from .core.bayes import ACQUISITION_FUNCTIONS
from .core.samplers import METHOD_OPTIONS, METHODS, Sampler, make_sampler
from .core.space import SpaceError
from .core.storage import default_storage_path
from .core.study import ScoreError, Study, StudyError
from .core.trial import TrialState
from .params import hp
from .report import ConsoleReporter

__all__ = ["TuneMagics", "load_ipython_extension", "parse_point"]


def parse_point(text: str) -> dict[str, Any]:
    """Parse "lr=0.01, units=64" into {'lr': 0.01, 'units': 64}."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    try:
        call = ast.parse(f"point({text})", mode="eval").body
        assert isinstance(call, ast.Call) and not call.args
        return {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg is not None}
    except (SyntaxError, ValueError, AssertionError):
        raise UsageError(
            f'--point {text!r}: write name=value pairs separated by commas, e.g. --point "lr=0.01, units=64"'
        ) from None


@magics_class
class TuneMagics(Magics):
    """The %%tune magic."""

    @magic_arguments(name="%tune")
    @argument_group("search")
    @argument("--method", choices=list(METHODS), default="bayes", help="search method (default: bayes)")
    @argument(
        "--trials",
        type=int,
        metavar="N",
        help="number of trials (default: 20; grid: the whole grid; not for manual, which runs one per --point)",
    )
    @argument("--timeout", type=float, metavar="SECONDS", help="start no new trial after this many seconds")
    @argument("--minimize", action="store_true", help="lower scores are better (default)")
    @argument("--maximize", action="store_true", help="higher scores are better")
    @argument("--seed", type=int, metavar="N", help="random seed; the same seed gives the same trials")
    @argument("--score", metavar="NAME", help="take the score from this variable instead of the cell's last expression")
    @argument_group("study")
    @argument(
        "--name",
        default="study",
        metavar="NAME",
        help="variable the study is bound to, and its file name (default: study)",
    )
    @argument(
        "--resume", action="store_true", help="continue the saved study NAME with more trials instead of starting anew"
    )
    @argument(
        "--storage", metavar="PATH", help="study file (default: .hptune/NAME.sqlite; 'none' keeps it in memory only)"
    )
    @argument_group("method options")
    @argument("--acq", choices=ACQUISITION_FUNCTIONS, help="bayes: acquisition function (default: EI)")
    @argument(
        "--initial-points",
        type=int,
        metavar="N",
        help="bayes: random trials before the model takes over (default: trials/3, at most 10)",
    )
    @argument("--grid-points", type=int, metavar="N", help="grid: points per real range (default: 5)")
    @argument(
        "--point",
        action="append",
        default=[],
        metavar='"NAME=VALUE, ..."',
        help="manual: a point to evaluate (repeatable); defaults fill the rest",
    )
    @cell_magic
    def tune(self, line: str, cell: str) -> None:
        """Tune the hyperparameters a cell declares; the cell's last expression is the score.

        Declare each hyperparameter by assigning an hp call to a name:

            %%tune --method bayes --trials 30 --maximize
            lr = hp.real(1e-4, 1e-1, log=True)
            units = hp.int(16, 256, log=True)
            activation = hp.choice(["relu", "tanh", "logistic"])
            clf = MLPClassifier(hidden_layer_sizes=(units,), activation=activation,
                                learning_rate_init=lr, max_iter=50, random_state=0)
            cross_val_score(clf, X, y, cv=3).mean()

        Each trial runs the cell in its own copy of the notebook's namespace. Afterwards the study is bound
        to NAME (default `study`) and each hyperparameter name to its best value. Without %%tune, the same
        cell runs once with every hp call returning its default.
        """
        args = parse_argstring(self.tune, line)
        study, run, sampler = self._prepare(args, cell)
        if args.resume and not study.resumed:
            print(f"No saved study {args.name!r} to resume; starting a new one")
        if study.replaces is not None and study.storage is not None:
            print(
                f"New study {args.name!r}: the saved one ({study.replaces} trials) is kept in "
                f"{study.storage.backup_path()}; use --resume to add trials to a saved study instead"
            )
        unsubscribe = study.subscribe(ConsoleReporter())
        error: ScoreError | None = None
        try:
            study.optimize(run, args.trials, timeout=args.timeout, sampler=sampler)
        except SpaceError as refused:  # the method's plan refused the space before any trial
            raise UsageError(str(refused)) from None
        except ScoreError as caught:
            error = caught
        finally:
            unsubscribe()
            if study.trials:
                self._bind(args.name, study)
        if error is not None:
            raise UsageError(f"{error}. The cell's last expression (or --score variable) must be the score")
        snapshot = study.snapshot()
        if snapshot.stop_reason == "interrupted":
            # Like any interrupted cell, end in KeyboardInterrupt, so Jupyter cancels the cells queued after this one.
            kept = sum(t.state is TrialState.COMPLETE for t in study.trials)
            raise KeyboardInterrupt(f"search interrupted; {kept} finished trials are kept in `{args.name}`") from None
        if snapshot.all_failed:
            first = snapshot.search_trials[0]
            print(
                f"\nEvery trial failed. The first one's traceback:\n{first.traceback or first.error}", file=sys.stderr
            )
            raise UsageError(f"all {len(snapshot.search_trials)} trials failed; fix the cell and run it again")

    def _prepare(self, args: Any, cell: str) -> tuple[Study, Any, Sampler]:
        """Check the options and the cell, and create or resume the study and its sampler; nothing runs yet."""
        for option in ("trials", "initial_points", "grid_points"):
            value = getattr(args, option)
            if value is not None and value < 1:
                raise UsageError(f"--{option.replace('_', '-')} must be a positive integer, got {value}")
        if args.timeout is not None and not args.timeout > 0:
            raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")
        for method, options in METHOD_OPTIONS.items():
            for option in options:
                if getattr(args, option) is not None and args.method != method:
                    raise UsageError(f"--{option.replace('_', '-')} applies to --method {method}, not {args.method}")
        if args.method == "manual" and args.trials is not None:
            raise UsageError("--trials does not apply to --method manual: it runs one trial per --point")
        if args.minimize and args.maximize:
            raise UsageError("--minimize and --maximize contradict each other: give one")
        if not args.name.isidentifier():
            raise UsageError(f"--name must be a valid Python variable name, got {args.name!r}")
        if not cell.strip():
            raise UsageError(
                "the cell is empty: declare hyperparameters with hp.real/hp.int/hp.choice and end with the score"
            )
        try:
            objective = compile_cell(self.shell, cell, args.score)
            if args.name in objective.space:
                raise UsageError(f"--name {args.name} is also a hyperparameter's name: give the study another name")
        except SpaceError as error:
            raise UsageError(str(error)) from None
        except SyntaxError as error:
            raise UsageError(f"the cell has a syntax error on line {error.lineno}: {error.msg}") from None
        storage = args.storage or default_storage_path(args.name)
        try:
            study = Study(
                objective.space,
                name=args.name,
                direction="maximize" if args.maximize else "minimize",
                storage=None if str(storage).lower() == "none" else storage,
                resume=args.resume,
            )
            for text in args.point:
                study.enqueue(parse_point(text))
            options = {option: getattr(args, option) for option in METHOD_OPTIONS[args.method]}
            sampler = make_sampler(args.method, seed=args.seed, **options)
        except (SpaceError, StudyError) as error:
            raise UsageError(str(error)) from None
        return study, objective.run, sampler

    def _bind(self, name: str, study: Study) -> None:
        """Bind the study to its name and each hyperparameter to its best value."""
        self.shell.user_ns[name] = study
        try:
            self.shell.user_ns.update(study.best_params)
        except ValueError:
            pass


def load_ipython_extension(ipython: Any) -> None:
    """Register %%tune and put `hp` in the namespace."""
    ipython.register_magics(TuneMagics)
    ipython.user_ns["hp"] = hp
