"""The state behind ``dsnn.nest``: kernel attributes, the nodes made so far, the connections asked for,
and the dsnn network and simulation they become.

NEST builds as it goes and lets nodes be changed one by one; a dsnn network
is described whole, then built. So the kernel keeps what the script says
(every Create as a :class:`Block` of nodes whose parameters are stored as
runs of nodes with equal values, every Connect as a :class:`Connection`)
and describes a :class:`dsnn.Network` from it at the first Simulate (or
Prepare): one dsnn population per run, in gid order, so the node ids are
NEST's. Everything is checked when the script says it, as NEST does.
"""

from __future__ import annotations

import bisect
import math
import numbers
import os
from dataclasses import dataclass, field

import numpy as np

from ...description.distributions import Distribution
from ...description.network import Network, model_specs
from ...description.populations import concatenate
from ...description.rules import parse_conn_spec
from ...description.synapses import SYNAPSE_MODELS

__all__ = ["Kernel", "Block", "Connection", "NestError", "unsupported", "NEST_RNG_SEED"]

#: NEST 3's default kernel seed
NEST_RNG_SEED = 143202461

#: device attributes that only dsnn.nest keeps (NEST's recording backends), with their defaults
RECORDER_ATTRIBUTES = {"label": "", "record_to": "memory", "time_in_steps": False}

#: how many runs of different values one Create may be split into by set() (each becomes a population)
MAX_RUNS = 256

#: at most this many connections may be given their own weights or delays as arrays (one projection each)
MAX_ARRAY_CONNECTIONS = 1024

#: what cannot change between two Simulate calls: the voltmeter's sampling
FIXED_AFTER_BUILD = {"voltmeter": {"interval", "record_from"}}


class NestError(ValueError):
    """What a NEST script asks that dsnn.nest refuses (NEST would raise its own error there too, or dsnn
    does not support it)."""


def unsupported(what: str, hint: str = "") -> NestError:
    """The error for something NEST has and dsnn does not: one line naming it."""
    return NestError(f"dsnn.nest: {what} is not supported by dsnn" + (f" ({hint})" if hint else ""))


@dataclass
class Block:
    """The nodes of one Create: gids ``first .. first+n-1`` of ``model`` (NEST's name; ``dsnn_model`` is
    what dsnn builds). ``runs`` is a sorted list of ``[lo, hi, params]`` (offsets into the block) covering
    it: the parameters of those nodes. Recorders also keep ``attrs`` (label, record_to, ...) per node and
    the time up to which their events were cleared (``n_events = 0``)."""

    model: str
    dsnn_model: str
    first: int
    n: int
    runs: list
    attrs: list = field(default_factory=list)
    cleared_ms: list = field(default_factory=list)

    @property
    def kind(self) -> str:
        return model_specs()[self.dsnn_model].kind

    def params_of(self, offset: int) -> dict:
        i = bisect.bisect_right([r[0] for r in self.runs], offset) - 1
        return self.runs[i][2]

    def set_range(self, lo: int, hi: int, values: dict) -> None:
        """Set ``values`` on offsets ``lo .. hi-1``, splitting and joining runs."""
        out = []
        for a, b, params in self.runs:
            if b <= lo or a >= hi:
                out.append([a, b, params])
                continue
            if a < lo:
                out.append([a, lo, params])
            out.append([max(a, lo), min(b, hi), {**params, **values}])
            if b > hi:
                out.append([hi, b, params])
        joined = [out[0]]
        for run in out[1:]:
            if run[2] == joined[-1][2] and not self.kind.endswith("recorder") and self.kind != "voltmeter":
                joined[-1][1] = run[1]
            else:
                joined.append(run)
        if len(joined) > MAX_RUNS:
            raise unsupported(f"giving {self.model} nodes more than {MAX_RUNS} different parameter sets in one "
                              "Create", "dsnn keeps parameters per population: use nest.random distributions "
                                        "for values that differ from neuron to neuron")
        self.runs = joined


@dataclass
class Connection:
    """One Connect: source and target spans (``(first gid, n)``), the conn_spec and the dsnn syn_spec, and
    the NEST synapse model it was made with (for ``num_connections``)."""

    pre: tuple
    post: tuple
    conn_spec: dict
    syn_spec: dict
    synapse_model: str
    n_pre: int
    n_post: int
    delay_ms: float  # the smallest delay it may have (NEST's for recorders' too): NEST's min_delay counts it


class Kernel:
    """What one NEST kernel holds between two ResetKernel calls."""

    def __init__(self):
        self.generation = getattr(self, "generation", 0) + 1
        self.resolution = 0.1
        self.rng_seed = NEST_RNG_SEED
        self.local_num_threads = 1
        self.total_num_virtual_procs = 1
        self.print_time = False
        self.overwrite_files = False
        self.data_path = ""
        self.data_prefix = ""
        self.verbosity = 20
        self.dsnn_client = None
        self.dsnn_exchange = "p2p"
        self.blocks: list[Block] = []
        self.connections: list[Connection] = []
        self.model_defaults = {name: dict(spec.defaults()) for name, spec in model_specs().items()}
        self.model_base = {name: name for name in model_specs()}
        self.synapse_defaults = {name: {"weight": 1.0, "delay": 1.0, **params}
                                 for name, params in SYNAPSE_MODELS.items()}
        self.synapse_bases: dict = {}  # CopyModel'd synapse model -> the dsnn model it copies
        self.network: Network | None = None
        self.sim = None
        self.changed_after_build = ""  # what a script changed since the build (rebuilt at the next Simulate)
        self.written: set = set()  # ascii files this kernel wrote (overwritten as the run goes on)
        self.pending_vm: dict = {}  # gid -> V_m (mV) to hold across the next rebuild (V_m or E_L set)

    # ---------------------------------------------------------------- nodes
    @property
    def n_nodes(self) -> int:
        return self.blocks[-1].first + self.blocks[-1].n - 1 if self.blocks else 0

    def block_of(self, gid: int) -> Block:
        i = bisect.bisect_right([b.first for b in self.blocks], gid) - 1
        return self.blocks[i]

    def blocks_in(self, spans):
        """``(block, lo, hi)`` offsets of each part of ``spans`` (``(first gid, n)`` pairs) within a block."""
        for first, n in spans:
            gid = first
            while gid < first + n:
                block = self.block_of(gid)
                hi = min(first + n, block.first + block.n)
                yield block, gid - block.first, hi - block.first
                gid = hi

    def create(self, model: str, n: int, params) -> tuple:
        """Add ``n`` nodes of ``model`` (a NEST model name, CopyModel's included); returns their span."""
        if not isinstance(model, str) or model not in self.model_base:
            raise unsupported(f"model {model!r}", f"dsnn.nest has {', '.join(sorted(self.model_base))}")
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise NestError(f"Create: n must be a whole number >= 1, got {n!r}")
        n = int(n)
        self._refuse_after_build(f"Create({model!r})")
        base = self.model_base[model]
        defaults = dict(self.model_defaults[model])
        block = Block(model, base, self.n_nodes + 1, n, [[0, n, {}]])
        if block.kind in ("spike_recorder", "voltmeter"):
            block.runs = [[i, i + 1, {}] for i in range(n)]
            block.attrs = [dict(RECORDER_ATTRIBUTES) for _ in range(n)]
            block.cleared_ms = [0.0] * n
        block.runs = [[a, b, self.check_params(block, defaults, "Create")] for a, b, _ in block.runs]
        self.blocks.append(block)
        if params is not None:
            self.set_params(((block.first, n),), params, "Create")
        return ((block.first, n),)

    def check_params(self, block: Block, params: dict, where: str) -> dict:
        """``params`` checked for ``block``'s model (dsnn's checks, NEST's names); the NEST-only ones of
        recorders apart. Returns them as given."""
        spec = model_specs()[block.dsnn_model]
        dsnn_params = {k: v for k, v in params.items() if k not in RECORDER_ATTRIBUTES}
        try:
            self._scratch()._check_params(spec, dsnn_params)
        except (TypeError, ValueError) as exc:
            text = str(exc).replace(f"create({spec.name!r}): ", "")
            if "unknown parameter" in text:
                raise unsupported(f"parameter(s) {sorted(set(dsnn_params) - set(spec.params) - set(spec.array_params))}"
                                  f" of {block.model}", f"dsnn has {spec.allowed()}") from None
            raise NestError(f"{where}: {block.model}: {text}") from None
        return dict(params)

    def _scratch(self) -> Network:
        return Network(seed=self.rng_seed, dt=self.resolution)

    def set_params(self, spans, params, where: str = "set") -> None:
        """Set ``params`` (a dict of values, each a scalar, a nest.random distribution or a sequence with one
        value per node; or a list of dicts, one per node) on the nodes ``spans``."""
        n = sum(k for _, k in spans)
        if isinstance(params, (list, tuple)):
            if len(params) != n or not all(isinstance(p, dict) for p in params):
                raise NestError(f"{where}: a list of parameter dicts needs one dict per node ({n}), got {params!r}")
            for apply in (False, True):  # check every node, then set: nothing half-set
                offset = 0
                for block, lo, hi in list(self.blocks_in(spans)):
                    for i in range(lo, hi):
                        self._set_one(block, i, i + 1, params[offset], where, apply)
                        offset += 1
            return
        if not isinstance(params, dict):
            raise NestError(f"{where}: parameters must be a dict, got {type(params).__name__}")
        per_node = {k: v for k, v in params.items() if _is_sequence(v) and k not in ("spike_times",
                                                                                      "spike_multiplicities",
                                                                                      "record_from")}
        for k, v in per_node.items():
            if len(v) != n:
                raise NestError(f"{where}: {k} has {len(v)} values for {n} nodes")
        if per_node and n > MAX_RUNS:  # refuse before setting anything (nothing half-set)
            changes = np.zeros(n - 1, dtype=bool)
            for v in per_node.values():
                values = np.asarray(v, dtype=object)
                changes |= values[1:] != values[:-1]
            if int(changes.sum()) + 1 > MAX_RUNS:
                raise unsupported(f"{int(changes.sum()) + 1} different values of {sorted(per_node)} in one set",
                                  f"dsnn keeps parameters per population (at most {MAX_RUNS} per Create): use "
                                  "nest.random distributions for values that differ from neuron to neuron")
        common = {k: v for k, v in params.items() if k not in per_node}
        for apply in (False, True):  # check every part, then set: nothing half-set
            offset = 0
            for block, lo, hi in list(self.blocks_in(spans)):
                if common:
                    self._set_one(block, lo, hi, common, where, apply)
                for i in range(lo, hi) if per_node else ():
                    one = {k: _scalar(v[offset + i - lo]) for k, v in per_node.items()}
                    self._set_one(block, i, i + 1, one, where, apply)
                offset += hi - lo

    def _set_one(self, block: Block, lo: int, hi: int, values: dict, where: str, apply: bool) -> None:
        """Check ``values`` for offsets ``lo .. hi-1`` of ``block`` and, with ``apply``, set them (callers
        check every part first, then apply: nothing is half-set)."""
        attrs = {k: v for k, v in values.items() if k in RECORDER_ATTRIBUTES or k == "n_events"}
        values = {k: v for k, v in values.items() if k not in attrs}
        if attrs:
            if not block.attrs:
                raise unsupported(f"setting {sorted(attrs)} on a {block.model}")
            if attrs.get("n_events", 0) != 0:
                raise NestError(f"{where}: n_events can only be set to 0 (clearing the events), "
                                f"got {attrs['n_events']!r}")
            if attrs.get("record_to", "memory") not in ("memory", "ascii"):
                raise unsupported(f"record_to={attrs['record_to']!r}", "dsnn.nest records to 'memory' or 'ascii'")
        state = self.sim is not None and block.kind == "neuron" and ("V_m" in values or "E_L" in values)
        if state and "V_m" in values:
            value = values["V_m"]
            if isinstance(value, (bool, Distribution)) or not isinstance(value, numbers.Real) or \
                    not math.isfinite(value):
                raise unsupported(f"setting V_m to {value!r} after Simulate", "give a number (mV)")
        rest = {k: v for k, v in values.items() if not (state and k == "V_m")}
        fixed = sorted(set(rest) & FIXED_AFTER_BUILD.get(block.kind, set()))
        if self.network is not None and fixed:
            raise unsupported(f"setting {', '.join(fixed)} of {block.model} after Simulate",
                              "set it before the first Simulate")
        for a, b, params in block.runs if rest else ():
            if a < hi and b > lo:
                self.check_params(block, {**params, **rest}, where)
        if not apply:
            return
        for i in range(lo, hi) if attrs else ():
            for k, v in attrs.items():
                if k == "n_events":
                    block.cleared_ms[i] = self.time_ms
                else:
                    block.attrs[i][k] = v
        if state:
            self._hold_potentials(block, lo, hi, values)
        if rest:
            if self.network is not None:
                self.changed_after_build = self.changed_after_build or f"setting {sorted(rest)} of {block.model}"
            block.set_range(lo, hi, rest)

    def _hold_potentials(self, block: Block, lo: int, hi: int, values: dict) -> None:
        """V_m or E_L set after the build: V_m is state, set in the running simulation now and held across
        the next rebuild; a new E_L keeps the absolute V_m, as NEST keeps it."""
        gids = np.arange(block.first + lo, block.first + hi, dtype=np.int64)
        if "V_m" in values:
            value = values["V_m"]
            self.sim.set_membrane_potentials(gids, float(value))
            self.pending_vm.update(dict.fromkeys(gids.tolist(), float(value)))
        if "E_L" in values:
            now = self.sim.membrane_potentials(gids)
            for gid, v in zip(gids.tolist(), now.tolist()):
                self.pending_vm.setdefault(gid, v)

    def get_params(self, gid: int, potentials: dict | None = None) -> dict:
        """Every parameter of node ``gid`` as NEST lists them (the model's defaults included); a neuron's
        state variables once built from ``potentials`` (see :meth:`potentials`)."""
        block = self.block_of(gid)
        out = {**self.model_defaults[block.model], **block.params_of(gid - block.first)}
        out.update(global_id=gid, model=block.model, element_type=_element_type(block.kind), local=True,
                   thread=0, vp=0)
        if block.attrs:
            i = gid - block.first
            out.update(block.attrs[i])
            events = self.events(block, i)
            out["n_events"] = len(events["times"])
            if out["record_to"] == "memory":  # NEST keeps no events in memory for the other backends
                out["events"] = events
        if block.kind == "neuron" and self.sim is not None:  # state variables as they are now
            out.update((potentials if potentials is not None else self.potentials([gid])).get(gid, {}))
        return out

    def potentials(self, gids, names=None) -> dict:
        """gid -> {state variable: its value now} of the neurons among ``gids`` (the simulation is built):
        every variable their model records (V_m, w, g_ex, U_m, ...), or those among ``names``."""
        wanted: dict = {}
        for gid in gids:
            block = self.block_of(gid)
            if block.kind == "neuron":
                for var in model_specs()[block.dsnn_model].recordables:
                    if names is None or var in names:
                        wanted.setdefault(var, []).append(gid)
        out: dict = {}
        for var, of in wanted.items():
            for gid, value in zip(of, self.sim.state_variable(np.asarray(of, dtype=np.int64), var).tolist()):
                out.setdefault(gid, {})[var] = value
        return out

    # ---------------------------------------------------------------- connections
    def connect(self, pre_spans, post_spans, conn_spec, syn_spec) -> None:
        self._refuse_after_build("Connect")
        if isinstance(syn_spec, dict) and any(_is_sequence(syn_spec.get(k)) for k in ("weight", "delay")):
            self._connect_arrays(pre_spans, post_spans, conn_spec, syn_spec)
            return
        n_pre, n_post = sum(n for _, n in pre_spans), sum(n for _, n in post_spans)
        pre_kind = {b.kind for b, _, _ in self.blocks_in(pre_spans)}
        post_kind = {b.kind for b, _, _ in self.blocks_in(post_spans)}
        conn = "all_to_all" if conn_spec is None else conn_spec
        if isinstance(conn, str):
            conn = {"rule": conn}
        if not isinstance(conn, dict):
            raise NestError(f"Connect: conn_spec must be a dict or a rule name, got {conn_spec!r}")
        model, syn = self.syn_spec(syn_spec)
        delay = syn["delay"]
        delay_ms = float(delay.support()[0] if isinstance(delay, Distribution) else delay)
        recorder = post_kind & {"spike_recorder"} or pre_kind & {"voltmeter"}
        if recorder:
            syn = {}  # NEST takes a synapse model there too; a recorder records whatever its weight and delay
        overlap = sum(max(0, min(a + m, b + k) - max(a, b)) for a, m in pre_spans for b, k in post_spans)
        try:
            parse_conn_spec(conn, n_pre, n_post, overlap)
            self._scratch()._check_syn_spec(syn)
        except (TypeError, ValueError) as exc:
            raise NestError(f"Connect: {exc}") from None
        self.connections.append(Connection(tuple(pre_spans), tuple(post_spans), conn, syn, model, n_pre, n_post,
                                           max(delay_ms, self.resolution)))

    def _connect_arrays(self, pre_spans, post_spans, conn_spec, syn_spec) -> None:
        """NEST's weights or delays given per connection (all_to_all: arrays of shape (post, pre);
        one_to_one: one per pair) as one connection per pair, each with its own numbers (a few only:
        dsnn keeps a weight per projection or a distribution)."""
        conn = {"rule": conn_spec} if isinstance(conn_spec, str) else dict(conn_spec or {"rule": "all_to_all"})
        rule = conn.get("rule", "all_to_all")
        pre = [g for f, n in pre_spans for g in range(f, f + n)]
        post = [g for f, n in post_spans for g in range(f, f + n)]
        if rule == "all_to_all":
            pairs = [(i, j) for j in range(len(post)) for i in range(len(pre))]
            shape = (len(post), len(pre))
        elif rule == "one_to_one":
            if len(pre) != len(post):
                raise NestError(f"Connect: one_to_one needs pre and post of equal size, got {len(pre)} and "
                                f"{len(post)}")
            pairs, shape = [(i, i) for i in range(len(pre))], (len(pre),)
        else:
            raise unsupported(f"weights or delays given as arrays with rule {rule!r}",
                              "use a number or a nest.random distribution")
        if len(pairs) > MAX_ARRAY_CONNECTIONS:
            raise unsupported(f"weights or delays given as arrays for {len(pairs)} connections",
                              f"at most {MAX_ARRAY_CONNECTIONS}; use a nest.random distribution")
        arrays = {}
        for key in ("weight", "delay"):
            if _is_sequence(syn_spec.get(key)):
                values = np.asarray(syn_spec[key], dtype=np.float64)
                if values.size != len(pairs):
                    raise NestError(f"Connect: {key} must have shape {shape} for {rule}, got {values.shape}")
                arrays[key] = values.reshape(shape)
        pair_conn = {k: v for k, v in conn.items() if k in ("allow_autapses", "allow_multapses")}
        pair_conn["rule"] = "all_to_all"
        for i, j in pairs:
            if pre[i] == post[j] and conn.get("allow_autapses", True) is False:
                continue
            index = (j, i) if rule == "all_to_all" else (i,)
            one = {**syn_spec, **{k: float(v[index]) for k, v in arrays.items()}}
            self.connect(((pre[i], 1),), ((post[j], 1),), pair_conn, one)

    def syn_spec(self, syn_spec) -> tuple:
        """(NEST synapse model, dsnn syn_spec) of a NEST ``syn_spec`` (None, a model name or a dict)."""
        if syn_spec is None:
            syn_spec = {}
        elif isinstance(syn_spec, str):
            syn_spec = {"synapse_model": syn_spec}
        if not isinstance(syn_spec, dict):
            raise NestError(f"Connect: syn_spec must be a dict or a synapse model name, got {syn_spec!r}")
        model = syn_spec.get("synapse_model", "static_synapse")
        if model not in self.synapse_defaults:
            raise unsupported(f"synapse model {model!r}", f"dsnn.nest has {', '.join(sorted(self.synapse_defaults))}")
        out = dict(self.synapse_defaults[model])
        out["synapse_model"] = self.synapse_base(model)
        for key, value in syn_spec.items():
            if key == "synapse_model":
                continue
            if key not in ("weight", "delay", "receptor_type", *SYNAPSE_MODELS[self.synapse_base(model)]):
                raise unsupported(f"syn_spec key {key!r} of {model}",
                                  f"dsnn takes weight, delay, receptor_type 0 and {model}'s parameters")
            out[key] = value
        for key in ("weight", "delay"):
            if _is_sequence(out[key]):
                raise unsupported(f"a {key} per connection given as an array",
                                  "use a number or a nest.random distribution")
        return model, out

    def synapse_base(self, model: str) -> str:
        """The dsnn synapse model a NEST synapse model (CopyModel's included) is a copy of."""
        return self.synapse_bases.get(model, model)

    def num_connections(self, synapse_model: str | None = None) -> int:
        """Connections made with ``synapse_model`` (all with None), as NEST counts them (those from
        generators and to recorders included); the random rules' counts come from the built network."""
        total = 0
        for i, c in enumerate(self.connections):
            if synapse_model is not None and c.synapse_model != synapse_model:
                continue
            rule = c.conn_spec.get("rule", "all_to_all")
            overlap = sum(max(0, min(a + m, b + k) - max(a, b)) for a, m in c.pre for b, k in c.post)
            no_self = c.conn_spec.get("allow_autapses", True) is False
            if rule == "all_to_all":
                total += c.n_pre * c.n_post - (overlap if no_self else 0)
            elif rule == "one_to_one":
                total += c.n_post - (overlap if no_self else 0)
            elif rule == "fixed_indegree":
                total += int(c.conn_spec["indegree"]) * c.n_post
            elif rule == "fixed_outdegree":
                total += int(c.conn_spec["outdegree"]) * c.n_pre
            elif rule == "fixed_total_number":
                total += int(c.conn_spec["N"])
            else:
                self.prepare()
                total += len(self.sim.connections(self.network.projections[i]))
        return total

    # ---------------------------------------------------------------- build and run
    def _refuse_after_build(self, what: str) -> None:
        if self.network is not None:
            raise unsupported(f"{what} after Simulate", "describe the whole network first, or ResetKernel")

    @property
    def partitions(self) -> int:
        return max(int(self.total_num_virtual_procs), int(self.local_num_threads))

    def describe(self) -> Network:
        """The dsnn network of what the script said: one population per run of nodes with equal
        parameters, in gid order; one projection per Connect, in order."""
        net = Network(seed=int(self.rng_seed), dt=float(self.resolution))
        self.populations = {}  # first gid of each run -> its dsnn population
        for block in self.blocks:
            for lo, hi, params in block.runs:
                dsnn_params = {k: v for k, v in params.items() if k not in RECORDER_ATTRIBUTES}
                label = block.model if block.model != block.dsnn_model else None
                pop = net.create(block.dsnn_model, hi - lo, dsnn_params, label=label)
                assert pop.first == block.first + lo
                self.populations[pop.first] = pop
        for c in self.connections:
            net.connect(self.nodes(c.pre), self.nodes(c.post), c.conn_spec, c.syn_spec)
        return net

    def nodes(self, spans):
        """The dsnn population or collection of the built network holding ``spans``."""
        firsts = sorted(self.populations)
        parts = []
        for first, n in spans:
            gid = first
            while gid < first + n:
                pop = self.populations[firsts[bisect.bisect_right(firsts, gid) - 1]]
                hi = min(first + n, pop.first + pop.n)
                parts.append(pop[gid - pop.first:hi - pop.first])
                gid = hi
        return concatenate(*parts)

    def prepare(self) -> None:
        """Describe and build the network (once)."""
        if self.sim is not None:
            return
        client = self.dsnn_client
        if client is None and os.environ.get("DSNN_NEST_SCHEDULER"):
            from distributed import Client

            client = self.dsnn_client = Client(os.environ["DSNN_NEST_SCHEDULER"])
        self.network = net = self.describe()
        partitions = self.partitions
        if client is not None and partitions == 1:
            partitions = len(client.scheduler_info(n_workers=-1)["workers"])
        self.sim = net.build(client, partitions=partitions, exchange=self.dsnn_exchange)

    def simulate(self, t_ms: float) -> None:
        if isinstance(t_ms, bool) or not isinstance(t_ms, numbers.Real) or not (math.isfinite(t_ms) and t_ms >= 0):
            raise NestError(f"Simulate: t must be a time >= 0 ms, got {t_ms!r}")
        if self.changed_after_build:
            self.rebuild()
            if self.pending_vm:
                gids = np.fromiter(self.pending_vm, dtype=np.int64)
                self.sim.set_membrane_potentials(gids, np.array([self.pending_vm[g] for g in gids.tolist()]))
        self.pending_vm = {}
        self.prepare()
        if t_ms > 0:
            self.sim.run(float(t_ms), progress=bool(self.print_time))
        self.write_ascii()

    def rebuild(self) -> None:
        """Go on with the parameters set since the build: the simulation's state is saved, the network
        described again and built, and the state put back (:func:`dsnn.restore` with
        ``changed_parameters``); on a cluster the workers and this process must share the temporary
        folder (one host)."""
        import shutil
        import tempfile

        from ...runners.checkpoint import restore

        folder = tempfile.mkdtemp(prefix="dsnn-nest-")
        try:
            path = self.sim.checkpoint(os.path.join(folder, "state"))
            client, partitions = self.dsnn_client, self.sim.n_partitions
            self.sim.close()
            self.sim = None
            self.network = net = self.describe()
            self.sim = restore(net, path, client, partitions=partitions, exchange=self.dsnn_exchange,
                               changed_parameters=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.changed_after_build = ""

    @property
    def min_delay_ms(self) -> float:
        """NEST's kernel min_delay: the smallest delay of all connections (recorders' included), 1 ms if
        there are none."""
        return min((c.delay_ms for c in self.connections), default=1.0)

    def last_slice_ms(self) -> float:
        """Where the last time slice of the run so far began: NEST runs in slices of min_delay from time 0
        (the last one possibly shorter) and hands a voltmeter the samples of a slice in the next one, so
        the samples after this time are not there yet."""
        steps = int(round(self.time_ms / self.resolution))
        slice_steps = max(1, int(round(self.min_delay_ms / self.resolution)))
        return ((steps - 1) // slice_steps) * slice_steps * self.resolution if steps > 0 else 0.0

    @property
    def time_ms(self) -> float:
        return self.sim.time if self.sim is not None else 0.0

    def close(self) -> None:
        """Release the simulation (ResetKernel); one whose cluster is gone has nothing left to release."""
        if self.sim is not None:
            try:
                self.sim.close()
            except (RuntimeError, OSError):
                pass
            self.sim = None

    # ---------------------------------------------------------------- recordings
    def events(self, block: Block, i: int) -> dict:
        """NEST's ``events`` of recorder ``i`` of ``block``: senders, times (ms) and, for a voltmeter, V_m, for a
        multimeter the variables of its ``record_from``."""
        empty = {"senders": np.zeros(0, dtype=np.int64), "times": np.zeros(0)}
        if block.kind == "voltmeter":
            record_from = block.params_of(i).get("record_from", self.model_defaults[block.model].get("record_from",
                                                                                                     ("V_m",)))
            empty.update({name: np.zeros(0) for name in ([record_from] if isinstance(record_from, str)
                                                         else record_from)})
        if self.sim is None:
            return empty
        pop = self.populations[block.first + i]
        if block.kind == "spike_recorder":
            frame = self.sim.spikes(pop)
        else:
            frame = self.sim.voltages(pop)
        frame = frame[frame["time"] > block.cleared_ms[i]] if block.cleared_ms[i] > 0 else frame
        if block.kind == "voltmeter":
            frame = frame[frame["time"] <= self.last_slice_ms() + 1e-9]
        out = {"senders": frame["sender"].to_numpy(np.int64), "times": frame["time"].to_numpy(np.float64)}
        if block.kind == "voltmeter":
            if len(empty) == 2:  # a multimeter records only what it is told
                return empty
            out.update({name: frame[name].to_numpy(np.float64) for name in empty if name not in out})
            # NEST hands a voltmeter each min-delay slice's samples neuron after neuron
            slice_steps = max(1, int(round(self.min_delay_ms / self.resolution)))
            steps = np.rint(out["times"] / self.resolution).astype(np.int64)
            order = np.lexsort((steps, out["senders"], (steps - 1) // slice_steps))
            out = {k: v[order] for k, v in out.items()}
        return out

    def write_ascii(self) -> None:
        """Write the events of recorders with ``record_to="ascii"`` as NEST's ASCII backend does:
        ``<data_path>/<data_prefix><label or model>-<gid>-0.dat``."""
        for block in self.blocks:
            for i, attrs in enumerate(block.attrs):
                if attrs["record_to"] != "ascii":
                    continue
                name = f"{self.data_prefix}{attrs['label'] or block.model}-{block.first + i}-0.dat"
                path = os.path.join(self.data_path or ".", name)
                if path not in self.written and os.path.exists(path) and not self.overwrite_files:
                    raise NestError(f"Simulate: {path} exists and overwrite_files is False")
                ev = self.events(block, i)
                columns = "sender\ttime_ms" + ("\tV_m" if "V_m" in ev else "")
                with open(path, "w") as f:
                    f.write("# NEST version: 3.10.0 (dsnn.nest)\n# RecordingBackendASCII version: 2\n")
                    f.write(columns + "\n")
                    for k in range(ev["times"].shape[0]):
                        row = f"{ev['senders'][k]}\t{ev['times'][k]:.3f}"
                        if "V_m" in ev:
                            row += f"\t{ev['V_m'][k]:.3f}"
                        f.write(row + "\n")
                self.written.add(path)


def _element_type(kind: str) -> str:
    return {"neuron": "neuron", "spike_recorder": "recorder", "voltmeter": "recorder"}.get(kind, "stimulator")


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) and not isinstance(value, Distribution)


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value
