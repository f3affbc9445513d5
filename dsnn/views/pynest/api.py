"""PyNEST's functions over one :class:`~.kernel.Kernel` (``dsnn.nest`` re-exports them)."""

from __future__ import annotations

import enum
import numbers

import numpy as np

from ...description.network import model_specs
from .kernel import Kernel, NestError, unsupported
from .nodes import NodeCollection, SynapseCollection

__all__ = ["ResetKernel", "SetKernelStatus", "GetKernelStatus", "set", "get", "Create", "Connect",
           "CopyModel", "SetDefaults", "GetDefaults", "Models", "GetStatus", "SetStatus", "Simulate", "Prepare",
           "Run", "Cleanup", "GetConnections", "NodeCollection", "SynapseCollection", "VerbosityLevel",
           "set_verbosity", "get_verbosity", "NestError", "KERNEL_ATTRIBUTES", "kernel", "Install",
           "GetLocalNodeCollection", "PrintNodes", "NumProcesses", "Rank", "message"]

_kernel = Kernel()


def kernel() -> Kernel:
    """The kernel the functions act on now."""
    return _kernel


class VerbosityLevel(enum.IntEnum):
    """NEST's verbosity levels (dsnn.nest prints nothing below them; it prints little at all)."""

    ALL = 0
    DEBUG = 5
    STATUS = 7
    INFO = 10
    PROGRESS = 15
    DEPRECATED = 18
    WARNING = 20
    ERROR = 30
    FATAL = 40
    QUIET = 100


def set_verbosity(level) -> None:
    """NEST 2's ``set_verbosity("M_WARNING")`` (or a :class:`VerbosityLevel`)."""
    _set_kernel_attribute("verbosity", level)


def get_verbosity():
    return VerbosityLevel(_kernel.verbosity)


def message(level, sender, text) -> None:
    if int(level) >= _kernel.verbosity:
        print(f"[{sender}] {text}")


#: kernel attributes: name -> (settable, what dsnn does with it)
KERNEL_ATTRIBUTES = {
    "resolution": (True, "dt of the dsnn network (ms)"),
    "rng_seed": (True, "seed of the dsnn network"),
    "local_num_threads": (True, "partitions (in-process: stepped by threads)"),
    "total_num_virtual_procs": (True, "partitions"),
    "print_time": (True, "a progress bar during Simulate"),
    "overwrite_files": (True, "ascii recordings may replace files"),
    "data_path": (True, "folder of ascii recordings"),
    "data_prefix": (True, "prefix of ascii recordings"),
    "verbosity": (True, "what dsnn.nest prints"),
    "dsnn_client": (True, "a distributed.Client: build and run on its workers (or DSNN_NEST_SCHEDULER)"),
    "dsnn_exchange": (True, "'p2p' or 'collective'"),
    "biological_time": (False, "simulated time (ms)"),
    "network_size": (False, "number of nodes"),
    "num_connections": (False, "connections made (built first where a rule is random)"),
    "min_delay": (False, "smallest delay between neurons (ms)"),
    "max_delay": (False, "largest delay (ms)"),
    "num_processes": (False, "1 (one client)"),
    "ms_per_tic": (False, "0.001"),
}


def _kernel_attribute(name: str):
    k = _kernel
    if name not in KERNEL_ATTRIBUTES:
        raise unsupported(f"kernel attribute {name!r}",
                          f"dsnn.nest has {', '.join(sorted(KERNEL_ATTRIBUTES))}")
    if name == "biological_time":
        return k.time_ms
    if name == "network_size":
        return k.n_nodes
    if name == "num_connections":
        return k.num_connections()
    if name == "min_delay":
        return k.min_delay_ms
    if name == "max_delay":
        return max((c.delay_ms for c in k.connections), default=1.0)
    if name == "num_processes":
        return 1
    if name == "ms_per_tic":
        return 0.001
    if name == "verbosity":
        return VerbosityLevel(k.verbosity)
    return getattr(k, name)


def _set_kernel_attribute(name: str, value) -> None:
    k = _kernel
    if name not in KERNEL_ATTRIBUTES:
        raise unsupported(f"kernel attribute {name!r}",
                          f"dsnn.nest has {', '.join(sorted(KERNEL_ATTRIBUTES))}")
    if not KERNEL_ATTRIBUTES[name][0]:
        raise NestError(f"kernel attribute {name!r} is read-only")
    if name in ("resolution", "rng_seed", "local_num_threads", "total_num_virtual_procs") and k.blocks:
        raise NestError(f"{name} cannot be changed after nodes have been created (ResetKernel first)")
    if name == "resolution":
        from ...description.network import Network

        try:
            Network(dt=value)
        except (TypeError, ValueError) as exc:
            raise NestError(f"resolution: {exc}") from None
        value = float(value)
    elif name == "rng_seed":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value < 2**32:
            raise NestError(f"rng_seed must be an integer in [1, 2**32 - 1], got {value!r}")
        value = int(value)
    elif name in ("local_num_threads", "total_num_virtual_procs"):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise NestError(f"{name} must be a whole number >= 1, got {value!r}")
        k.local_num_threads = k.total_num_virtual_procs = int(value)
        return
    elif name == "verbosity":
        if isinstance(value, str):
            key = value[2:] if value.startswith("M_") else value
            if key not in VerbosityLevel.__members__:
                raise NestError(f"verbosity: unknown level {value!r}")
            value = VerbosityLevel[key]
        value = int(value)
    elif name == "dsnn_exchange" and value not in ("p2p", "collective"):
        raise NestError(f"dsnn_exchange must be 'p2p' or 'collective', got {value!r}")
    setattr(k, name, value)


def SetKernelStatus(params: dict) -> None:
    """Set kernel attributes (see :data:`KERNEL_ATTRIBUTES`)."""
    if not isinstance(params, dict):
        raise NestError(f"SetKernelStatus: params must be a dict, got {type(params).__name__}")
    for name, value in params.items():
        _set_kernel_attribute(name, value)


def set(**params) -> None:  # noqa: A001 - PyNEST's name
    SetKernelStatus(params)


def GetKernelStatus(keys=None):
    """A kernel attribute, a list of them, or (None) all of them as a dict."""
    if keys is None:
        return {name: _kernel_attribute(name) for name in KERNEL_ATTRIBUTES if name != "num_connections"}
    if isinstance(keys, str):
        return _kernel_attribute(keys)
    return tuple(_kernel_attribute(name) for name in keys)


def get(*keys):
    if not keys:
        return GetKernelStatus()
    return GetKernelStatus(keys[0] if len(keys) == 1 else list(keys))


def ResetKernel() -> None:
    """Forget every node and connection and set the kernel attributes back to NEST's defaults."""
    _kernel.close()
    _kernel.__init__()  # in place, one generation on: NodeCollections made before refuse to be used


# ---------------------------------------------------------------------------- models
def _model_table(model: str) -> dict:
    k = _kernel
    if model in k.model_defaults:
        return k.model_defaults[model]
    if model in k.synapse_defaults:
        return k.synapse_defaults[model]
    raise unsupported(f"model {model!r}", f"dsnn.nest has {', '.join(sorted(Models()))}")


def Models(mtype: str = "all", sel=None) -> tuple:
    k = _kernel
    names = {"all": list(k.model_defaults) + list(k.synapse_defaults), "nodes": list(k.model_defaults),
             "synapses": list(k.synapse_defaults)}[mtype]
    return tuple(sorted(n for n in names if sel is None or sel in n))


def CopyModel(existing: str, new: str, params: dict | None = None) -> None:
    """A new model name with ``existing``'s defaults, changed by ``params``."""
    k = _kernel
    if new in k.model_defaults or new in k.synapse_defaults:
        raise NestError(f"CopyModel: a model named {new!r} exists already")
    table = _model_table(existing)
    if existing in k.synapse_defaults:
        k.synapse_defaults[new] = dict(table)
        k.synapse_bases[new] = k.synapse_base(existing)
        if params:
            SetDefaults(new, params)
        return
    k.model_defaults[new] = dict(table)
    k.model_base[new] = k.model_base[existing]
    if params:
        SetDefaults(new, params)


def SetDefaults(model: str, params: dict, val=None) -> None:
    """Change the defaults of ``model`` for the nodes (or connections) made from now on."""
    k = _kernel
    if isinstance(params, str):
        params = {params: val}
    table = _model_table(model)
    if model in k.synapse_defaults:
        unknown = [key for key in params if key not in table and key != "receptor_type"]
        if unknown:
            raise unsupported(f"synapse parameter(s) {unknown} of {model}", f"dsnn has {sorted(table)}")
        k.syn_spec({"synapse_model": model, **params})
        k._scratch()._check_syn_spec({**table, **params, "synapse_model": k.synapse_base(model)})
        table.update(params)
        return
    from .kernel import Block

    probe = Block(model, k.model_base[model], 1, 1, [[0, 1, {}]])
    k.check_params(probe, {**table, **params}, "SetDefaults")
    table.update(params)


def GetDefaults(model: str, keys=None, output: str = ""):
    """``model``'s defaults (a synapse model's with ``num_connections``); one key, a list, or all."""
    if output:
        raise unsupported(f"GetDefaults(output={output!r})")
    k = _kernel
    table = dict(_model_table(model))
    if model in k.synapse_defaults:
        if isinstance(table["delay"], numbers.Real):  # NEST keeps delays in steps
            table["delay"] = round(table["delay"] / k.resolution) * k.resolution
        table.update(synapse_model=model, element_type="synapse", num_connections=k.num_connections(model),
                     has_delay=True, receptor_type=table.get("receptor_type", 0))
    else:
        kind = model_specs()[k.model_base[model]].kind
        table.update(model=model, element_type={"neuron": "neuron", "spike_recorder": "recorder",
                                                "voltmeter": "recorder"}.get(kind, "stimulator"))
    if keys is None:
        return table
    if isinstance(keys, str):
        if keys not in table:
            raise NestError(f"GetDefaults: {model} has no parameter {keys!r}")
        return table[keys]
    return [table[key] for key in keys]


def Install(module_name: str) -> None:
    raise unsupported(f"NEST extension modules (Install({module_name!r}))")


# ---------------------------------------------------------------------------- nodes and connections
def Create(model: str, n: int = 1, params=None, positions=None) -> NodeCollection:
    """``n`` nodes of ``model``; ``params`` a dict (values scalar, per node, or nest.random) or a list of
    dicts, one per node."""
    if positions is not None:
        raise unsupported("spatially structured networks (Create(..., positions=...))")
    spans = _kernel.create(model, n, params)
    return NodeCollection(_kernel, spans)


def _nodes(value, name: str) -> NodeCollection:
    if not isinstance(value, NodeCollection):
        raise NestError(f"Connect: {name} must be a NodeCollection, got {type(value).__name__}")
    value.spans  # noqa: B018 - refuses a collection from before ResetKernel
    if len(value) == 0:
        raise NestError(f"Connect: {name} is empty")
    return value


def Connect(pre, post, conn_spec=None, syn_spec=None, return_synapsecollection: bool = False):
    """Connect ``pre`` to ``post`` (NEST's conn_spec and syn_spec; default all_to_all, static_synapse)."""
    pre, post = _nodes(pre, "pre"), _nodes(post, "post")
    _kernel.connect(pre.spans, post.spans, conn_spec, syn_spec)
    if return_synapsecollection:
        return GetConnections(pre, post)


def GetConnections(source=None, target=None, synapse_model=None, synapse_label=None) -> SynapseCollection:
    """Connections between neurons (and from spike_generators) with these sources, targets and synapse
    model, from the built network (built now if need be). Those from generators and to recorders are
    not listed."""
    import pandas as pd

    if synapse_label is not None:
        raise unsupported("synapse labels")
    k = _kernel
    k.prepare()
    frames = []
    for c, proj in zip(k.connections, k.network.projections):
        if proj.kind != "synapse" or (synapse_model is not None and c.synapse_model != synapse_model):
            continue
        frame = k.sim.connections(proj)
        frame.insert(4, "synapse_model", c.synapse_model)
        frames.append(frame)
    cols = ["source", "target", "weight", "delay", "synapse_model"]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in cols})
    for column, nodes in (("source", source), ("target", target)):
        if nodes is not None:
            frame = frame[np.isin(frame[column].to_numpy(), _nodes(nodes, column).tolist())]
    frame = frame.sort_values(["source", "target"], kind="stable")
    return SynapseCollection(frame[cols])


def GetStatus(nodes, keys=None, output: str = ""):
    """NEST 2's GetStatus: a tuple over the nodes of dicts (no keys), values (a key) or tuples (a list)."""
    if isinstance(nodes, SynapseCollection):
        return nodes.get(keys)
    rows = []
    for node in nodes:
        if keys is None:
            rows.append(node.get())
        elif isinstance(keys, str):
            rows.append(node.get(keys))
        else:
            rows.append(tuple(node.get(key) for key in keys))
    return tuple(rows)


def SetStatus(nodes, params, val=None) -> None:
    if isinstance(params, str):
        params = {params: val}
    nodes.set(params)


def GetLocalNodeCollection(nodes):
    return nodes


def PrintNodes() -> None:
    for block in _kernel.blocks:
        print(f"{block.first} .. {block.first + block.n - 1}\t{block.model}")


def NumProcesses() -> int:
    return 1


def Rank() -> int:
    return 0


# ---------------------------------------------------------------------------- running
def Simulate(t: float) -> None:
    """Build the network at the first call, then advance it by ``t`` ms; later calls go on."""
    _kernel.simulate(t)


def Prepare() -> None:
    _kernel.prepare()


def Run(t: float) -> None:
    _kernel.simulate(t)


def Cleanup() -> None:
    """Nothing to do: the network stays built for the next Run."""
