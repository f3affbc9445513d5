"""examples/brunel.ipynb runs top to bottom (nbclient) and shows what it says it shows."""

from __future__ import annotations

import re
from pathlib import Path

from needs import require

nbformat = require("nbformat")
nbclient = require("nbclient")
require("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "brunel.ipynb"


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_brunel_notebook_executes_and_plots_every_spike():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert "dashboard at http" in _text(code[0])
    assert re.search(r"built in [0-9.]+ s: [0-9,]+ synapses", _text(code[2]))
    live = [o for o in code[3].outputs if o.output_type == "display_data"]
    assert any("application/vnd.bokehjs_exec.v0+json" in o.data or "text/html" in o.data for o in live)
    rates = re.search(r"\{'E': ([0-9.]+), 'I': ([0-9.]+)\}", _text(code[4]))
    assert rates and 10 < float(rates.group(1)) < 100 and 10 < float(rates.group(2)) < 100
    points, spikes = map(int, re.search(r"raster points: (\d+), spikes: (\d+)", _text(code[5])).groups())
    assert points == spikes > 1000  # the raster has a point for every spike
    assert any("image/png" in o.get("data", {}) for o in code[5].outputs)
    assert _text(code[6]).strip() == "True True"
