"""``python -m dsnn.nest script.py [args]``: run a NEST script that says ``import nest`` on dsnn."""

import runpy
import sys

from . import raster_plot, voltage_trace  # noqa: F401 - import nest.raster_plot finds them

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m dsnn.nest script.py [args...]")
    nest = sys.modules["dsnn.nest"]
    sys.modules["nest"] = nest
    sys.modules["nest.raster_plot"] = raster_plot
    sys.modules["nest.voltage_trace"] = voltage_trace
    sys.modules["nest.random"] = nest.random
    sys.modules["nest.math"] = nest.math
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
