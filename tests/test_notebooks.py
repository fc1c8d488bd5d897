"""Every example notebook runs from top to bottom in a fresh kernel, and each %%tune cell reports its best score;
every committed notebook carries the outputs of a full run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

# One BLAS thread per kernel: on a busy 2-core machine, spinning BLAS threads slow scikit-learn down tenfold.
# HPTUNE_QUICK=1 asks the notebooks for smaller budgets (fewer trials or seeds): the same code, a shorter run.
KERNEL_ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "HPTUNE_QUICK": "1",
}
QUICK_NOTE = "Quick run:"  # what a notebook prints when it shrinks its budget


def cell_text(cell) -> str:
    """The text a code cell printed or displayed."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
    return "".join(parts)


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs(source: Path, tmp_path: Path) -> None:
    path = tmp_path / source.name
    shutil.copyfile(source, path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=KERNEL_ENV)

    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"code cell {index} failed:\n{cell.source}\n{cell_text(cell)}"
    tune_cells = [cell for cell in code_cells if cell.source.lstrip().startswith("%%tune")]
    for cell in tune_cells:
        assert "Best score" in cell_text(cell), f"no summary after:\n{cell.source}\n{cell_text(cell)}"
        if "--no-panel" in cell.source.splitlines()[0] or "--background" in cell.source.splitlines()[0]:
            continue
        # The panel: a live widget for a frontend, and the final plots as a PNG for readers without a kernel.
        panels = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert len(panels) == 1, f"one panel expected after:\n{cell.source}"
        assert panels[0].data["image/png"], "the panel's final plots are not saved as an image"
        model_id = panels[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]
        saved = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
        assert model_id in saved, "the panel's widget state was not saved"
        images = [
            m
            for m in saved.values()
            if m["model_name"] == "ImageModel"
            and any(b["path"] == ["value"] and b["data"] for b in m.get("buffers", []))
        ]
        assert images, "the live plots are not in the saved widget state"
    if tune_cells:
        assert list((tmp_path / ".hptune").glob("*.sqlite")), "the studies were not saved in the notebook's folder"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda path: path.name)
def test_committed_notebook_has_the_outputs_of_a_full_run(source: Path) -> None:
    nb = nbformat.read(source, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), f"not run top to bottom in one kernel: {counts}"
    for cell in code_cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], f"committed with an error:\n{cell.source}"
        assert QUICK_NOTE not in cell_text(cell), "committed from a quick run: run `make notebooks`"
    assert any(cell.outputs for cell in code_cells), "committed without outputs"
    images = [o for cell in code_cells for o in cell.outputs if o.get("data", {}).get("image/png")]
    assert images, "committed without an image"
    if any(cell.source.lstrip().startswith("%%tune") for cell in code_cells):
        state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state")
        assert state, "committed without the panels' widget state"
