"""The architecture holds: layers import only what lies below them, no import cycles (imports inside
functions included), and ``import dsnn`` stays light. Checked on the source (every import statement)
and on the modules a fresh interpreter loads."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dsnn"

#: each layer and the layers it may import (besides itself); see docs/architecture.md
ALLOWED = {
    "support": set(),
    "models": {"support"},
    "description": {"models", "support"},
    "randomness": {"description", "support"},
    "partitioning": {"description"},
    "backends": {"models", "randomness", "support"},
    "construction": {"backends", "description", "models", "randomness", "partitioning", "support"},
    "exchange": {"support"},
    "runners": {"backends", "construction", "description", "exchange", "models", "partitioning", "randomness",
                "support"},
    "views": {"description", "runners", "support"},
    "launch": {"backends", "description", "runners", "support", "views"},
}
#: the package's own top-level modules (the public API) may import any layer
API = {"dsnn", "dsnn.__main__", "dsnn.random", "dsnn.math", "dsnn.nest", "dsnn.nest.__main__", "dsnn.nest.random",
       "dsnn.nest.math", "dsnn.nest.raster_plot", "dsnn.nest.voltage_trace"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set:
    """Every dsnn module ``path`` imports, at the top or inside a function, as absolute names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: not imported when the program runs
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "dsnn"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "dsnn":
                continue
            found.add(target)
            for alias in node.names:  # "from . import rng" imports the module dsnn.<...>.rng
                candidate = f"{target}.{alias.name}"
                if (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists() or \
                        (PACKAGE.parent / Path(*candidate.split(".")) / "__init__.py").exists():
                    found.add(candidate)
    return found


def _graph() -> dict:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def test_every_module_is_in_a_layer_or_the_api():
    stray = [m for m in _graph() if _layer(m) is None and m not in API]
    assert not stray, f"modules outside the layers: {stray}"


def test_layers_import_only_the_layers_below():
    wrong = []
    for module, imported in _graph().items():
        layer = _layer(module)
        if layer is None:
            continue
        for target in imported:
            other = _layer(target)
            if target in API and target != "dsnn":
                wrong.append(f"{module} imports the API module {target}")
            elif other is not None and other != layer and other not in ALLOWED[layer]:
                wrong.append(f"{module} ({layer}) imports {target} ({other})")
    assert not wrong, "\n".join(sorted(wrong))


def _cycles(edges: dict) -> list:
    """Every import cycle a depth-first walk of ``edges`` ({module: modules it imports}) meets, each as the
    list of modules around it."""
    state, stack, found = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == "open":
                found.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return found


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"a"}}) == [["a", "a"]]
    assert _cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles_even_through_function_level_imports():
    graph = _graph()
    # a package's __init__ is not an edge to its children: importing dsnn.x.y runs dsnn/__init__ first anyway
    edges = {m: {t for t in targets if t in graph and t != m and not m.startswith(t + ".") and t != "dsnn"}
             for m, targets in graph.items()}
    assert sum(len(t) for t in edges.values()) > 100  # the graph was read: every module imports something
    cycles = _cycles(edges)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _fresh(code: str) -> list:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


HEAVY = ("numba", "pandas", "distributed", "dask", "numpy")


def _loaded(modules: list, names) -> list:
    return [n for n in names if n in modules]


def test_import_dsnn_and_describing_a_network_load_no_heavy_module():
    modules = _fresh("""
import dsnn
net = dsnn.Network(seed=1)
E = net.create("iaf_psc_exp", 100, {"V_m": dsnn.random.uniform(-70.0, -60.0)})
net.connect(E, E, {"rule": "fixed_indegree", "indegree": 10}, {"weight": 20.0, "delay": 1.5})
net.connect(net.create("poisson_generator", params={"rate": 100.0}), E, syn_spec={"weight": 10.0})
net.connect(E, net.create("spike_recorder"))
""")
    assert _loaded(modules, HEAVY) == []
    assert not [m for m in modules if m.startswith(("dsnn.backends", "dsnn.construction", "dsnn.exchange"))]


def test_a_run_in_this_process_needs_no_dask():
    modules = _fresh("""
import dsnn
net = dsnn.Network(seed=1)
E = net.create("iaf_psc_exp", 20, {"I_e": 500.0})
net.connect(E, E, {"rule": "fixed_indegree", "indegree": 3}, {"weight": 20.0, "delay": 1.0})
sim = net.build(partitions=2, exchange="collective")
sim.run(50.0)
assert sim.spike_count > 0
""")
    assert "numba" in modules and _loaded(modules, ("distributed", "dask")) == []


def test_the_exchange_loads_no_neuron_model_and_no_numerics():
    modules = _fresh("""
import numpy as np
from dsnn.exchange.algorithms import bruck_allgather, run_blocking
from dsnn.exchange.channels import Channels
from dsnn.exchange.memory import MemoryHub
ch = Channels.in_memory(MemoryHub(1), 0)
assert len(run_blocking(bruck_allgather(0, 0, 1, np.zeros((2, 3), dtype=np.int64)), ch)) == 1
""")
    assert not [m for m in modules if m.startswith(("dsnn.models", "dsnn.backends", "dsnn.construction"))]
    assert _loaded(modules, ("numba", "pandas", "distributed", "dask")) == []


def test_numerics_load_no_dask():
    modules = _fresh("""
import numpy as np
import dsnn.backends.partition, dsnn.backends.cpu, dsnn.construction.build, dsnn.randomness.rng
from dsnn.randomness import rng
assert rng.bits(1, np.arange(3)).shape == (3,)
""")
    assert "numba" in modules and _loaded(modules, ("distributed", "dask", "pandas")) == []


def test_kernels_compile_on_first_use_and_count_their_time():
    out = subprocess.run([sys.executable, "-c", """
import sys
import numpy as np
from dsnn.randomness import rng
from dsnn.support.jit import compile_seconds
assert "numba" not in sys.modules and compile_seconds() == 0.0
words = rng.bits(7, np.arange(5))
first = compile_seconds()
assert "numba" in sys.modules and first > 0.0
assert (rng.bits(7, np.arange(5)) == words).all() and compile_seconds() == first  # compiled once
print("ok")
"""], capture_output=True, text=True, timeout=300, cwd=PACKAGE.parent)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
