"""Run one of NEST's example scripts with NEST or with dsnn.nest, and save what it recorded.

``python nest_script.py {nest|dsnn} script.py out.npz [old=>new ...]``: the script's text with each
``old`` replaced by ``new`` (to make it smaller) is run as ``__main__`` with ``import nest`` meaning the
simulator asked for, in the folder of ``out.npz``; then the events of every recorder the script left in
a variable (``<name>.<key>``, or ``<name>.n_events`` for those recording to files) and its numeric
variables (``var.<name>``) are saved.
"""

import os
import runpy
import sys

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYNEST_QUIET", "1")


def main(which, script, out, *replacements):
    source = open(script).read()
    for rep in replacements:
        old, new = rep.split("=>")
        if old not in source:
            sys.exit(f"{script} does not say {old!r}")
        source = source.replace(old, new)
    folder = os.path.dirname(os.path.abspath(out))
    os.chdir(folder)
    path = os.path.join(folder, f"{which}_{os.path.basename(script)}")
    with open(path, "w") as f:
        f.write(source)
    if which == "dsnn":
        import dsnn.nest as nest
        from dsnn.nest import raster_plot, voltage_trace

        sys.modules.update({"nest": nest, "nest.raster_plot": raster_plot, "nest.voltage_trace": voltage_trace})
    sys.argv = [path]
    names = runpy.run_path(path, run_name="__main__")
    arrays = {}
    for name, value in names.items():
        if type(value).__name__ == "NodeCollection" and len(value) == 1 and \
                value.get("model") in ("spike_recorder", "voltmeter", "multimeter"):
            if value.get("record_to") == "memory":
                for key, v in value.get("events").items():
                    arrays[f"{name}.{key}"] = np.asarray(v)
            arrays[f"{name}.n_events"] = np.asarray(value.get("n_events"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            arrays[f"var.{name}"] = np.asarray(value)
    if which == "dsnn":  # where it ran: the workers of a cluster, or none (in this process)
        sim = sys.modules["nest"].kernel().sim
        arrays["dsnn.workers"] = np.asarray(len(sim.workers or []) if sim is not None else 0)
    np.savez(out, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
