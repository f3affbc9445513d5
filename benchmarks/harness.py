"""What the benchmark scripts share: clusters, model files, NEST runs, the machine, the results folder.

- :func:`fresh_cluster`: a new ``dsnn.local_cluster`` of single-threaded
  worker processes (their kernels are loaded by the worker preload as they
  start), its start time measured, shut down at the end;
  :func:`warm_up` builds and runs a tiny network on it where a script wants
  every kernel of a model loaded before it times anything.
- :func:`build_and_run`: one timed build and run (seconds).
- :func:`ring_network` and :func:`interval_probe`: the exchange's cost per
  interval with next to no compute.
- :func:`run_nest`: a model file's ``nest_network`` in a spawned process,
  timed (create + connect, ``Prepare`` + ``Run(0.1)``, the simulation) with
  its memory; :func:`in_spawned_process` for any such run.
- :func:`machine`, :func:`versions`, :func:`write_json`: what every result
  file records, and where it goes (``benchmarks/results/``).

Importing this module starts nothing (dsnn, Dask and NEST load inside the
functions).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import importlib.metadata
import inspect
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:  # spawned processes and ``python benchmarks/<script>.py`` import benchmarks.*
    sys.path.insert(0, str(ROOT))


# ----------------------------------------------------------------------------- the machine and the results

def today() -> str:
    """Today's date, ISO format (results are named by it)."""
    return datetime.date.today().isoformat()


def machine() -> dict:
    """Platform, Python, CPU model, cores, memory (GiB) and the 1-minute load average of this machine."""
    from dsnn.support.machine import cores

    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cores": cores(), "memory_gib": round(memory, 1), "load_1min": os.getloadavg()[0]}


def versions() -> dict:
    """Installed versions of dsnn, numpy, numba, dask, distributed and NEST (None where missing)."""
    out = {}
    for name, dist in (("dsnn", "dsnn"), ("numpy", "numpy"), ("numba", "numba"), ("dask", "dask"),
                       ("distributed", "distributed"), ("nest", "nest-simulator")):
        try:
            out[name] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_json(name: str, data: dict) -> Path:
    """Write ``data`` to ``benchmarks/results/<name>.json``, or ``<name>-2.json``, ``-3``, ... where that
    exists (a second run on one day keeps the first); returns the path."""
    RESULTS.mkdir(exist_ok=True)
    path, n = RESULTS / f"{name}.json", 1
    while path.exists():
        n += 1
        path = RESULTS / f"{name}-{n}.json"
    path.write_text(json.dumps(data, indent=1, default=float))
    return path


# ----------------------------------------------------------------------------- model files

def load_model(file: str):
    """The model file ``file`` (relative to the repository root, e.g. ``examples/brunel.py``) as a module."""
    from dsnn.description.model_files import load_model as load

    return load(ROOT / file)


def exchange_of(module) -> str:
    """The model's preferred exchange (its ``EXCHANGE``, default p2p)."""
    return getattr(module, "EXCHANGE", "p2p")


def model_params(module, params: dict, partitions: int) -> dict:
    """``params`` plus ``partitions`` where the model's ``network`` takes it (hpc_benchmark's weak scaling)."""
    if "partitions" in inspect.signature(module.network).parameters:
        return dict(params, partitions=partitions)
    return dict(params)


def layout(module, net, partitions: int):
    """What ``net.build(partitions=...)`` takes: the model's ``placement`` if it has one, else P blocks."""
    placement = getattr(module, "placement", None)
    return placement(net, partitions) if placement else partitions


def interval_ms(net) -> float:
    """The exchange interval (the minimum delay), in ms."""
    return net.min_delay_steps * net.dt


def intervals(net, t_ms: float) -> float:
    """Number of exchange intervals (one minimum delay each) in ``t_ms`` ms."""
    return t_ms / interval_ms(net)


# ----------------------------------------------------------------------------- clusters

@dataclasses.dataclass
class Cluster:
    """A started local cluster: its client, workers (= partitions), transport and start time (s)."""

    client: object
    partitions: int
    protocol: str
    start_s: float


@contextlib.contextmanager
def fresh_cluster(partitions: int, protocol: str = "tcp", **kwargs):
    """A new ``dsnn.local_cluster(partitions, protocol, dashboard=False)`` as a :class:`Cluster`, its start
    (workers started, dsnn's kernels loaded by the preload) timed in ``start_s``; shut down on exit.
    ``kwargs`` go to the cluster (e.g. ``host``)."""
    import dsnn

    warnings.filterwarnings("ignore", message=".*Port .* is already in use.*")  # the scheduler's HTTP server moves
    t0 = time.perf_counter()
    client = dsnn.local_cluster(partitions, protocol=protocol, dashboard=False, **kwargs)
    cluster = Cluster(client, partitions, protocol, time.perf_counter() - t0)
    try:
        yield cluster
    finally:
        client.shutdown()
        client.close()


def warm_up(client, net, partitions, exchange: str, t_ms: float = 100.0) -> None:
    """Build ``net`` (a tiny copy of what will be timed) on ``client`` and run ``t_ms`` ms (long enough for
    spikes to be delivered), so that every kernel it uses is loaded; ``client=None``: in this process."""
    sim = net.build(client, partitions=partitions, exchange=exchange)
    sim.run(t_ms, progress=False)
    sim.close()


@dataclasses.dataclass
class Timed:
    """A built and run simulation with its construction and simulation wall times (s)."""

    sim: object
    construction_s: float
    simulation_s: float


def build_and_run(net, client, partitions, exchange: str, t_ms: float) -> Timed:
    """Build ``net`` (``net.build(client, partitions, exchange)``) and simulate ``t_ms`` ms, both timed. The
    caller closes ``.sim`` (which frees its partitions on the workers at once)."""
    t0 = time.perf_counter()
    sim = net.build(client, partitions=partitions, exchange=exchange)
    t1 = time.perf_counter()
    sim.run(t_ms, progress=False)
    return Timed(sim, t1 - t0, time.perf_counter() - t1)


def peak_rss_mb(client) -> list:
    """Each worker's peak resident memory (MB) since it started (``ru_maxrss``), in worker order."""
    usage = client.run(resource.getrusage, resource.RUSAGE_SELF)
    return [usage[w].ru_maxrss / 1024 for w in sorted(usage)]


def rss_mb() -> float:
    """This process's resident memory now (MB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def own_peak_rss_mb() -> float:
    """This process's peak resident memory (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def per_step(counters: list, infos: list) -> dict:
    """Costs per unit of work, averaged over the partitions (CPU partitions; None where there is no such
    work): ns per synaptic event delivered, ns per neuron-step of the neuron update (generator input
    apart), ns per Poisson input per step, and us per interval of exchange + wait."""
    def mean(values):
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    out = {"deliver_ns_per_event": [], "update_ns_per_neuron_step": [], "poisson_ns_per_input_step": [],
           "exchange_wait_us_per_interval": []}
    for c, i in zip(counters, infos):
        t, steps = c["timers"], c["intervals"] * i["interval"]
        out["deliver_ns_per_event"].append(t["deliver"] / c["synaptic_events"] * 1e9 if c["synaptic_events"] else None)
        neuron_steps = i["n_local"] * steps
        out["update_ns_per_neuron_step"].append((t["update"] - c["input_s"]) / neuron_steps * 1e9
                                                if neuron_steps else None)
        inputs = c["poisson_inputs"] * steps
        out["poisson_ns_per_input_step"].append(c["input_s"] / inputs * 1e9 if inputs else None)
        out["exchange_wait_us_per_interval"].append((t["exchange"] + t["wait"]) / c["intervals"] * 1e6
                                                    if c["intervals"] else None)
    return {k: mean(v) for k, v in out.items()}


def mean_timers(timers: list) -> dict:
    """Per-partition time splits (dicts of seconds) averaged over the partitions."""
    return {k: sum(t[k] for t in timers) / len(timers) for k in timers[0]}


# ----------------------------------------------------------------------------- the exchange's own cost

def ring_network(P: int):
    """P populations of 10 neurons, each projecting to the next, min delay 0.1 ms (one step per interval):
    the exchange's cost with next to no compute."""
    import dsnn

    net = dsnn.Network(seed=1, dt=0.1)
    pops = [net.create("iaf_psc_exp", 10) for _ in range(P)]
    for i, a in enumerate(pops):
        net.connect(a, pops[(i + 1) % P], {"rule": "fixed_indegree", "indegree": 2}, {"weight": 1.0, "delay": 0.1})
    return net


def header_bytes() -> int:
    """Bytes of one message's header in dsnn's exchange (``dsnn.exchange.framing.HEADER_BYTES``)."""
    from dsnn.exchange.framing import HEADER_BYTES

    return HEADER_BYTES


def interval_probe(client, P: int, mode: str, n_intervals: int) -> dict:
    """The ring network on the P workers of ``client`` with exchange ``mode``, run ``n_intervals`` intervals
    after 50 to warm up: wall µs per interval, and per partition µs per interval in exchange + wait and in
    update, and messages it sent per interval."""
    import numpy as np

    sim = ring_network(P).build(client, partitions=[10] * P, exchange=mode)
    sim.run(5.0, progress=False)
    before = sim.counters()
    t0 = time.perf_counter()
    sim.run(round(n_intervals * 0.1, 1), progress=False)
    wall = time.perf_counter() - t0
    after = sim.counters()
    sim.close()

    def per_interval_us(key):
        return np.array([a["timers"][key] - b["timers"][key] for a, b in zip(after, before)]) / n_intervals * 1e6

    messages = np.array([a["messages_sent"] - b["messages_sent"] for a, b in zip(after, before)]) / n_intervals
    return {"partitions": P, "exchange": mode, "intervals": n_intervals, "wall_us": wall / n_intervals * 1e6,
            "exchange_wait_us": (per_interval_us("exchange") + per_interval_us("wait")).tolist(),
            "update_us": per_interval_us("update").tolist(), "messages_per_interval": messages.tolist()}


# ----------------------------------------------------------------------------- NEST in its own process

def in_spawned_process(target, *args) -> dict:
    """``target(*args, queue)`` in a fresh spawned process (its memory apart from this one's); returns what
    it put on the queue."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def nest_model_run(file: str, params: dict, t_ms: float, threads: int, queue) -> None:
    """One NEST run of the model file's ``nest_network`` with ``threads`` threads (meant for a spawned
    process); puts on ``queue`` its figures: seconds (import, create + connect, Prepare + Run(0.1), the
    simulation of the rest of ``t_ms`` ms and Cleanup), memory (MB; bytes per connection from the resident
    memory's increase), spikes/s — or ``{"error": ...}``."""
    try:
        os.environ.setdefault("PYNEST_QUIET", "1")
        t_import = time.perf_counter()
        import nest

        import_s = time.perf_counter() - t_import
        module = load_model(file)
        nest.verbosity = nest.VerbosityLevel.ERROR
        rss0 = rss_mb()
        t0 = time.perf_counter()
        sr, pops = module.nest_network(nest, threads=threads, **params)
        t1 = time.perf_counter()
        nest.Prepare()
        nest.Run(0.1)  # NEST builds its presynaptic tables here
        t2 = time.perf_counter()
        nest.Run(t_ms - 0.1)
        nest.Cleanup()
        t3 = time.perf_counter()
        n_neurons = pops if isinstance(pops, int) else sum(len(p) for p in pops.values())
        n_syn = int(nest.num_connections)
        queue.put({"threads": nest.local_num_threads, "version": nest.__version__, "neurons": int(n_neurons),
                   "synapses": n_syn, "import_s": import_s, "connect_s": t1 - t0, "prepare_s": t2 - t1,
                   "construction_s": t2 - t0, "simulation_s": t3 - t2, "rtf": (t3 - t2) / (t_ms / 1000.0),
                   "bytes_per_synapse": (rss_mb() - rss0) * 2**20 / n_syn, "peak_rss_mb": own_peak_rss_mb(),
                   "rate_hz": sr.n_events / n_neurons / (t_ms / 1000.0)})
    except BaseException as exc:  # noqa: BLE001 - the parent waits on the queue: always answer
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def run_nest(file: str, params: dict, t_ms: float, threads: int) -> dict:
    """The model file's NEST network with ``threads`` threads, simulated ``t_ms`` ms in a fresh spawned
    process (figures of :func:`nest_model_run`); raises RuntimeError if it failed."""
    result = in_spawned_process(nest_model_run, file, params, t_ms, threads)
    if "error" in result:
        raise RuntimeError(f"NEST run of {file} failed: {result['error']}")
    return result
