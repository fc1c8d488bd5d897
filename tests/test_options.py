"""An option a search method declares, in one place, appears wherever options do: the magic's arguments and help,
the panel's controls, the checks and their messages, and the %%tune line that Save to cell writes."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.magic import cell_magic, magics_class
from IPython.core.magic_arguments import magic_arguments
from test_protocol import check_fixture

from jupyter_hptune import Real, Space, magic
from jupyter_hptune.core import samplers
from jupyter_hptune.core.options import Option, OptionError, option_named
from jupyter_hptune.core.samplers.bayes import BayesSampler
from jupyter_hptune.core.settings import SearchSettings
from jupyter_hptune.protocol import write_cell
from jupyter_hptune.widgets import TunePanel

XI = Option("xi", "how far the acquisition function explores", float, default=0.01, metavar="X")


class ExploringBayes(BayesSampler):
    """Bayes with one more option: declared in its options, taken by its constructor, nowhere else."""

    options = (*BayesSampler.options, XI)
    made: list[ExploringBayes] = []

    def __init__(self, xi: float = 0.01, **others: Any) -> None:
        super().__init__(**others)
        self.xi = xi
        ExploringBayes.made.append(self)


@pytest.fixture
def exploring(shell: Any) -> Iterator[Any]:
    """The bayes method with the xi option, and the %%tune magic as it is built from the methods' options."""
    original = samplers.SAMPLERS["bayes"]
    samplers.SAMPLERS["bayes"] = lambda: ExploringBayes
    ExploringBayes.made.clear()

    @magics_class
    class TuneMagics(magic.TuneMagics):
        # What the magic's class does at import, done again now that bayes has one more option.
        @magic_arguments(name="%tune")
        @magic._arguments(magic.tune_arguments())
        @cell_magic
        def tune(self, line: str, cell: str) -> None:
            return super().tune(line, cell)

    shell.register_magics(TuneMagics)
    try:
        yield shell
    finally:
        samplers.SAMPLERS["bayes"] = original
        shell.register_magics(magic.TuneMagics)


def run(shell: Any, line: str) -> Any:
    cell = f"%%tune {line} --no-panel --storage none\nx = hp.real(0, 1)\n(x - 0.3) ** 2"
    return shell.run_cell(textwrap.dedent(cell))


def test_the_magic_takes_a_new_method_option_and_its_help_lists_it(exploring: Any) -> None:
    result = run(exploring, "--trials 4 --seed 0 --xi 0.2")
    assert result.success, result.error_in_exec
    assert ExploringBayes.made and ExploringBayes.made[-1].xi == 0.2, "the sampler got the option"
    assert len(exploring.user_ns["study"].trials) == 4
    help_text = " ".join(exploring.magics_manager.registry["TuneMagics"].tune.__doc__.split())  # unwrapped
    assert "--xi X" in help_text and "bayes: how far the acquisition function explores (default: 0.01)" in help_text


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--xi -1", "--xi must be a positive number, got -1.0"),
        ("--xi lots", "argument --xi: invalid float value: 'lots'"),
        ("--method random --xi 0.2", "--xi applies to --method bayes, not random"),
    ],
)
def test_the_magic_checks_a_new_method_option(exploring: Any, line: str, message: str) -> None:
    result = run(exploring, line)
    assert isinstance(result.error_in_exec, UsageError) and message in str(result.error_in_exec)
    assert "study" not in exploring.user_ns, "nothing ran"


def test_the_panel_offers_a_new_method_option_beside_its_method(exploring: Any) -> None:
    settings = SearchSettings(method="bayes", n_trials=5, options={"xi": 0.05})
    panel = TunePanel(Space({"x": Real(0.0, 1.0)}), name="study", settings=settings)
    controls = panel.controls
    (xi,) = [c for c in controls.method_boxes["bayes"].children if c.description == "xi"]
    assert xi.value == "0.05" and xi.placeholder == "0.01", "the cell's value, and the default when left blank"
    requests: list[SearchSettings] = []
    panel.on_run = requests.append
    xi.value = "-2"
    panel.run.click()
    assert requests == [] and "xi must be a positive number, got -2.0" in panel.message.value
    xi.value = "0.3"
    panel.run.click()
    assert requests[-1].options == {"acq": "EI", "xi": 0.3}
    controls.method.value = "random"
    assert controls.method_boxes["bayes"].layout.display == "none"
    panel.run.click()
    assert requests[-1].options == {}, "another method's options are not sent"


def test_the_checks_and_save_to_cell_know_a_new_method_option(exploring: Any, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="xi applies to method bayes, not grid"):
        SearchSettings(method="grid", options={"xi": 0.1})
    with pytest.raises(OptionError, match="xi must be a positive number, got 0"):
        SearchSettings(options={"xi": 0})
    space = Space({"C": Real(1e-2, 1e3, log=True)})
    message = write_cell("svc_search", "cell-1", space, SearchSettings(n_trials=30, seed=7, options={"xi": 0.2}))
    assert message["line"]["options"]["--xi"] == "0.2" and message["line"]["defaults"]["--xi"] == "0.01"
    # The extension's tests rewrite a cell with this message: the new option reaches the line with no change there.
    check_fixture("write_cell_added_option", dict(message), tmp_path)
    assert option_named("n_trials").flag == "--trials" and XI.flag == "--xi"


def test_a_flag_option_takes_true_or_false_and_stays_out_of_the_panel_and_the_saved_line() -> None:
    sync = option_named("sync")
    assert (sync.check(True), sync.check(False), sync.check(None)) == (True, False, None)
    assert (sync.parse("true"), sync.parse("False"), sync.parse(" ")) == (True, False, None)
    for wrong in (1, "yes"):
        with pytest.raises(OptionError, match=f"sync must be True or False, got {wrong!r}"):
            sync.check(wrong)
    assert SearchSettings(jobs=2, sync=True).search_arguments()["sync"] is True
    assert SearchSettings(sync=None).sync is False
    with pytest.raises(OptionError, match="sync must be True or False"):
        SearchSettings(jobs=2, sync="on")
    line = write_cell("s", None, Space({"x": Real(0.0, 1.0)}), SearchSettings(jobs=2, sync=True))["line"]
    assert "--sync" not in line["options"] and "--jobs" not in line["options"], "kept as the cell wrote them"
