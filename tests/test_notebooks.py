"""The shipped notebooks run top to bottom in a Jupyter kernel, and are committed without outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["quickstart.ipynb", "clustering.ipynb", "custom_search.ipynb"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _ensure_kernel(name: str = "python3") -> None:
    """Install this interpreter's ipykernel spec when a fresh environment lacks one."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", name],
                       check=True, capture_output=True)


def _widget_outputs(cell) -> int:
    return sum(1 for out in cell.get("outputs", []) if WIDGET_VIEW in out.get("data", {}))


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code, f"{name} has no code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: clear the outputs before committing"
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name, tmp_path):
    _ensure_kernel()
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    code = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    dashboards = [c for c in code if ".dashboard()" in c.source]
    assert dashboards, f"{name} never shows a dashboard"
    for cell in dashboards:
        assert _widget_outputs(cell) >= 1, f"{name}: the dashboard cell displayed no widget"
    fits = [c for c in code if "automl.fit(" in c.source or "automl.cluster(" in c.source]
    assert fits, f"{name} never fits"
    # In a kernel the live progress is a widget, not text on stderr.
    assert any(_widget_outputs(c) >= 1 for c in fits), f"{name}: no live progress widget during the fit"
    if name == "quickstart.ipynb":
        assert (tmp_path / "quickstart_report.html").stat().st_size > 10_000
        assert (tmp_path / "quickstart_model").is_dir()
