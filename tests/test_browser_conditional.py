"""Conditional and repeated hyperparameters in a real JupyterLab: the panel's rows and Save to cell."""

from __future__ import annotations

import re

import pytest
from browser import LOAD, browser, cell_source, lab, page, run_notebook  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

OPTIMISER = (
    "def optimiser_cost():\n"
    "    optimiser = hp.choice(['sgd', 'adam'])\n"
    "    if optimiser == 'sgd':\n"
    "        momentum = hp.real(0.0, 0.99)\n"
    "        return momentum\n"
    "    return hp.real(0.5, 0.999, name='beta1')"
)
NETWORK = (
    "%%tune --method random --trials 8 --seed 0 --name net\n"
    "n_layers = hp.int(1, 3)\n"
    'widths = [hp.int(8, 64, name=f"units_{i}") for i in range(n_layers)]\n'
    "sum(widths) / 64 + optimiser_cost()"
)


def test_the_panel_has_a_row_per_declaration_and_saves_a_loops_range_to_its_line(lab, page) -> None:  # noqa: F811
    run_notebook(page, lab.notebook("conditional.ipynb", [LOAD, OPTIMISER, NETWORK]))
    panel = page.locator(".hptune-panel").first
    panel.locator(".hptune-settings-toggle").click()  # the settings start folded into their summary
    rows = panel.locator(".hptune-controls .widget-vbox").first
    labels = [text.strip() for text in rows.locator(".widget-html b").all_inner_texts()]
    assert labels == ["n_layers", "units_{i}", "optimiser", "momentum", "beta1"], labels
    table = panel.locator(".hptune-trials")
    header = table.locator("th").all_inner_texts()
    assert header[:7] == ["#", "n_layers", "units_0", "units_1", "units_2", "optimiser", "momentum"], header
    body = table.locator("tbody tr").first.locator("td").all_inner_texts()
    assert "" in body, "a hyperparameter a trial did not use is a blank cell"

    widths = rows.locator(".widget-hbox").filter(has_text="units_{i}").first
    widths.locator(".widget-checkbox input").check()  # every layer's width on a log scale
    panel.locator("button", has_text="Save to cell").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Cell')[2].querySelector('.cm-content').textContent.includes('log=True')"
    )
    after = cell_source(page, 2).splitlines()
    assert after[2] == 'widths = [hp.int(8, 64, log=True, name=f"units_{i}") for i in range(n_layers)]', after
    assert after[1] == "n_layers = hp.int(1, 3)" and re.match("%%tune --method random --trials 8", after[0])
    assert cell_source(page, 1) == OPTIMISER, "a declaration in another cell keeps its text"
    assert not page.errors, page.errors
