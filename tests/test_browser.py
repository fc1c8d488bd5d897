"""The JupyterLab extension in a real JupyterLab, in headless Chromium: what a user sees and clicks."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from browser import (  # noqa: F401  (fixtures)
    LOAD,
    TOKEN,
    browser,
    cell_count,
    cell_source,
    lab,
    open_notebook,
    open_sidebar,
    page,
    run_all,
    run_notebook,
    study_item,
    trials_done,
    wait_idle,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SLOW_SEARCH = (
    "%%tune --method random --trials 40 --seed 1 --name demo\n"
    "import time\n"
    "x = hp.real(0.0, 1.0)\n"
    "k = hp.choice(['a', 'b'])\n"
    "time.sleep(0.4)\n"
    "(x - 0.3) ** 2"
)
QUICK_SEARCH = (
    "%%tune --method random --trials 4 --seed 0 --name quick\n"
    "x = hp.real(0.1, 10.0)  # the step\n"
    "k = hp.choice(['a', 'b', 'c'])\n"
    "(x - 1) ** 2 + (k == 'b')"
)


def wait_trials(page, name: str, at_least: int, timeout: float = 30_000) -> None:  # noqa: F811
    """Wait until the sidebar shows a study running with at least this many trials done."""
    counts = f"#jupyter-hptune-sidebar .hptune-study.hptune-state-running[data-study='{name}'] .hptune-study-counts"
    page.wait_for_function(
        f'() => parseInt(document.querySelector("{counts}")?.textContent) >= {at_least}', timeout=timeout
    )


def panel(page, index: int = 0):  # noqa: F811
    return page.locator(".hptune-panel").nth(index)


def test_sidebar_follows_a_search_live_and_stops_it(lab, page) -> None:  # noqa: F811
    open_notebook(page, lab.notebook("live.ipynb", [LOAD, SLOW_SEARCH]))
    run_all(page)
    # The panel and its live plots render in the page.
    panel(page).wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.hptune-panel img')].some(i => i.naturalWidth > 100)", timeout=60_000
    )
    sidebar = open_sidebar(page)
    item = study_item(page, "demo")
    item.wait_for()
    assert "random" in item.inner_text()
    wait_trials(page, "demo", 3, timeout=60_000)
    first = trials_done(item)
    wait_trials(page, "demo", first + 1)
    assert item.locator(".hptune-study-state").inner_text() == "running"
    assert item.locator(".hptune-sparkline polyline").count() == 1

    item.locator(".hptune-stop").click()
    item.locator(".hptune-study-state", has_text="stopped").wait_for(timeout=30_000)
    wait_idle(page)
    done = trials_done(item)
    assert 0 < done < 40, f"the search should have stopped early, but {done} of 40 trials ran"
    # The trials are kept: the panel and the cell's summary agree with the sidebar.
    status = panel(page).locator(".widget-html", has_text="ended").first.inner_text()
    assert status.startswith(f"{done} / 40") and "stopped" in status
    summary = page.locator(".jp-Cell").nth(1).locator(".jp-Cell-outputArea").inner_text()
    assert "Best score" in summary and "Error" not in summary
    assert not page.errors, page.errors

    # Clicking the study selects its %%tune cell.
    page.locator(".jp-Cell").nth(0).click()
    item.locator(".hptune-study-name").click()
    page.wait_for_function(
        "() => document.querySelector('.jp-Cell.jp-mod-active .cm-content').textContent.startsWith('%%tune')"
    )
    assert sidebar.is_visible()

    # A reloaded page asks the kernel, which still has the extension loaded, for its studies.
    open_notebook(page, page.url)
    open_sidebar(page)
    study_item(page, "demo").locator(".hptune-study-state", has_text="stopped").wait_for()
    assert trials_done(study_item(page, "demo")) == done
    assert not [e for e in page.console_errors if "comm" in e.lower()], page.console_errors


def test_save_to_cell_rewrites_the_cell_and_undo_restores_it(lab, page) -> None:  # noqa: F811
    run_notebook(page, lab.notebook("save.ipynb", [LOAD, QUICK_SEARCH]))
    before = cell_source(page, 1)
    assert before == QUICK_SEARCH

    p = panel(page)
    p.locator(".hptune-settings-toggle").click()  # the settings start folded into their summary
    p.locator(".widget-toggle-button", has_text=re.compile("^bayes$")).click()
    trials = p.locator(".widget-text", has_text="trials").locator("input")
    trials.fill("12")
    trials.press("Enter")
    p.locator(".widget-checkbox input").first.check()  # x on a log scale
    p.locator("button", has_text="Save to cell").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Cell')[1].querySelector('.cm-content').textContent.includes('log=True')"
    )
    after = cell_source(page, 1)
    assert after.splitlines()[0] == "%%tune --method bayes --trials 12 --seed 0 --name quick"
    assert "x = hp.real(0.1, 10.0, log=True)  # the step" in after
    assert "k = hp.choice(['a', 'b', 'c'])" in after

    # The usual undo in the cell's editor brings the old text back.
    page.locator(".jp-Cell").nth(1).locator(".cm-content").click()
    page.keyboard.press("Control+z")
    page.wait_for_function(
        "() => !document.querySelectorAll('.jp-Cell')[1].querySelector('.cm-content').textContent.includes('log=True')"
    )
    assert cell_source(page, 1) == before
    assert not page.errors, page.errors


def test_use_best_params_inserts_a_cell_that_runs(lab, page) -> None:  # noqa: F811
    run_notebook(page, lab.notebook("best.ipynb", [LOAD, QUICK_SEARCH]))
    panel(page).locator("button", has_text="Use best params").click()
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 3")
    inserted = cell_source(page, 2)
    lines = inserted.splitlines()
    assert lines[0] == '# The best params of study "quick"'
    assert re.fullmatch(r"x = [0-9.e-]+  # the step", lines[1]), inserted
    assert re.fullmatch(r"k = '[abc]'", lines[2]), inserted
    assert "hp." not in inserted and "%%tune" not in inserted

    # It runs, and shows the best score again.
    page.locator(".jp-Cell").nth(2).click()
    page.keyboard.press("Shift+Enter")
    wait_idle(page)
    output = page.locator(".jp-Cell").nth(2).locator(".jp-Cell-outputArea").inner_text()
    assert re.search(r"\d", output) and "Error" not in output

    # Undo in command mode removes the inserted cell.
    page.locator(".jp-Cell").nth(2).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("z")
    page.keyboard.press("z")
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 2")
    assert not page.errors, page.errors


def test_insert_tune_cell_from_the_palette_toolbar_and_context_menu(lab, page) -> None:  # noqa: F811
    open_notebook(page, lab.notebook("insert.ipynb", ["n = 1"]))
    page.locator(".jp-Cell").nth(0).locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+Shift+c")
    page.keyboard.type("Insert %%tune cell")
    page.locator(".lm-CommandPalette-item:visible", has_text="Insert %%tune cell").first.click()
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 3")
    assert cell_source(page, 1) == "%load_ext jupyter_hptune"
    template = cell_source(page, 2)
    assert template.startswith("%%tune --method bayes --trials 20 --maximize")
    assert "hp.real(" in template and "hp.choice(" in template

    # The template runs as it is.
    run_all(page)
    page.locator(".hptune-panel").wait_for(timeout=60_000)
    wait_idle(page, timeout=180_000)
    output = page.locator(".jp-Cell").nth(2).locator(".jp-Cell-outputArea").inner_text()
    assert "Best score" in output, output

    # With %load_ext already there, the toolbar button inserts the template alone.
    page.locator(".jp-Cell").nth(0).locator(".jp-InputPrompt").click()
    page.locator(".jp-NotebookPanel-toolbar [data-command='jupyter-hptune:insert-tune-cell']").click()
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 4")
    assert cell_source(page, 1).startswith("%%tune")

    # The cell context menu has it too.
    page.locator(".jp-Cell").nth(0).locator(".jp-InputArea-editor").click(button="right")
    page.locator(".lm-Menu-item:visible", has_text="Insert %%tune cell").click()
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 5")
    assert not page.errors, page.errors


def test_tune_line_is_highlighted_and_the_body_as_python(lab, page) -> None:  # noqa: F811
    open_notebook(page, lab.notebook("highlight.ipynb", [QUICK_SEARCH, "x = 1  # not tuned"]))
    cell = page.locator(".jp-Cell").nth(0)
    assert cell.locator(".cm-hptune-magic").inner_text() == "%%tune"
    options = cell.locator(".cm-hptune-option").all_inner_texts()
    assert options == ["--method", "--trials", "--seed", "--name"]
    assert cell.locator(".cm-hptune-value").all_inner_texts() == ["random", "4", "0", "quick"]
    # The Python below keeps Python's highlighting: strings and comments get their own styles.
    string = cell.locator(".cm-line span", has_text="'a'").first
    comment = cell.locator(".cm-line span", has_text="# the step").first
    assert string.get_attribute("class") and comment.get_attribute("class")
    assert string.evaluate("e => getComputedStyle(e).color") != comment.evaluate("e => getComputedStyle(e).color")
    assert page.locator(".jp-Cell").nth(1).locator(".cm-hptune-option").count() == 0


def test_sidebar_empties_on_restart_and_lists_saved_studies_again(lab, page) -> None:  # noqa: F811
    run_notebook(page, lab.notebook("restart.ipynb", [LOAD, QUICK_SEARCH]))
    open_sidebar(page)
    study_item(page, "quick").locator(".hptune-study-state", has_text="finished").wait_for()

    page.locator(".lm-MenuBar-item", has_text="Kernel").first.click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile("^Restart Kernel")).first.click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator("#jupyter-hptune-sidebar .hptune-sidebar-empty").wait_for(timeout=30_000)
    assert study_item(page, "quick").count() == 0
    wait_idle(page)
    time.sleep(0.5)

    # Loading the extension again lists the study saved in .hptune/, as it ended.
    page.locator(".jp-Cell").nth(0).click()
    page.keyboard.press("Shift+Enter")
    item = study_item(page, "quick")
    item.wait_for(timeout=30_000)
    assert item.locator(".hptune-study-state").inner_text() == "finished"
    assert trials_done(item) == 4
    assert not page.errors, page.errors


def test_quickstart_stop_from_the_sidebar_then_save_the_narrowed_ranges(lab, page) -> None:  # noqa: F811
    quickstart = Path(__file__).resolve().parent.parent / "notebooks" / "01_quickstart.ipynb"
    shutil.copyfile(quickstart, lab.root / "01_quickstart.ipynb")
    open_notebook(page, f"{lab.url}/lab/tree/01_quickstart.ipynb?token={TOKEN}&reset")
    tune_index = next(i for i in range(cell_count(page)) if cell_source(page, i).startswith("%%tune"))
    run_all(page)
    open_sidebar(page)
    item = study_item(page, "study")
    item.wait_for(timeout=60_000)
    wait_trials(page, "study", 2, timeout=120_000)
    item.locator(".hptune-stop").click()
    item.locator(".hptune-study-state", has_text="stopped").wait_for(timeout=60_000)
    wait_idle(page, timeout=180_000)
    done = trials_done(item)
    assert 2 <= done < 15

    # Narrow the learning rate from the left (two stops of its log slider) and drop units' log scale.
    p = page.locator(".hptune-panel").first
    p.locator(".hptune-settings-toggle").click()  # the settings start folded into their summary
    handle = p.locator(".widget-hslider, .widget-slider").first.locator(".noUi-handle-lower")
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    p.locator(".widget-checkbox input").nth(1).uncheck()
    before = cell_source(page, tune_index)
    p.locator("button", has_text="Save to cell").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('.jp-Cell')[{tune_index}].querySelector('.cm-content').textContent"
        ".includes('hp.int(16, 256)')"
    )
    after = cell_source(page, tune_index)
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert [a for a, _ in changed] == ["lr = hp.real(1e-4, 1e-1, log=True)", "units = hp.int(16, 256, log=True)"]
    low = re.fullmatch(r"lr = hp\.real\(([0-9.e-]+), 1e-1, log=True\)", changed[0][1])
    assert low and 1e-4 < float(low.group(1)) < 1e-1, changed
    assert changed[1][1] == "units = hp.int(16, 256)"
    assert not page.errors, page.errors
