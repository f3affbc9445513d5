"""The network description: populations, projections and devices.

Pure Python, no arrays: a :class:`Network` records what to build and checks
every argument when it is given. :meth:`Network.build` and
:meth:`Network.memory_estimate` hand the description over to the engine
(the runners layer attaches it when ``dsnn`` is imported): the description
never imports what builds it. Node ids (gids) start at 1 and follow
creation order, devices included, as in NEST.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import distributions
from .distributions import Distribution
from .populations import Collection, Population
from .rules import Rule, parse_conn_spec
from .synapses import SYNAPSE_MODELS, parse_synapse
from .timing import TICS_PER_MS, on_grid, steps_of, tics

if TYPE_CHECKING:  # annotations only: the models' schemas load when a population is created
    from ..models.base import ModelSpec

__all__ = ["Network", "Projection", "attach_engine", "model_specs"]

#: what builds networks: an object with ``build(net, client, partitions, exchange, device, timeout)``
#: and ``memory_estimate(net, partitions)``; set by :mod:`dsnn.runners` (see :func:`attach_engine`)
_engine = None


def model_specs() -> dict:
    """Every model a network may create: NEST name -> :class:`~dsnn.models.base.ModelSpec` (its kind,
    parameters, defaults and checks)."""
    from ..models import MODELS

    return MODELS


def attach_engine(engine) -> None:
    """Set the engine :meth:`Network.build` and :meth:`Network.memory_estimate` hand over to."""
    global _engine
    _engine = engine


def _the_engine():
    if _engine is None:  # pragma: no cover - `import dsnn` attaches it before any Network exists
        raise RuntimeError("no engine attached: import dsnn (not only dsnn.description)")
    return _engine


@dataclass(frozen=True)
class Projection:
    """One ``connect`` call, validated.

    ``kind`` is ``"synapse"`` (spikes through synapses), ``"poisson"``,
    ``"current"``, ``"record_spikes"`` or ``"record_vm"``. Weights are in pA,
    delays in ms; each a float or a :class:`~dsnn.description.distributions.Distribution`.
    """

    index: int
    kind: str
    pre: Population | Collection
    post: Population | Collection
    rule: Rule
    weight: float | Distribution = 1.0
    delay: float | Distribution = 1.0
    synapse: str = "static_synapse"
    synapse_params: tuple = ()  # ((name, value), ...) of the synapse model (see .synapses)

    @property
    def plastic(self) -> bool:
        """Whether its weights change as the network runs (a plastic synapse model)."""
        return self.synapse != "static_synapse"

    @property
    def delay_range_steps(self) -> tuple[int, float]:
        """Smallest and largest possible delay in steps (largest may be inf)."""
        dt = self.pre.network.dt
        if isinstance(self.delay, Distribution):
            lo, hi = self.delay.support()
            return max(1, int(round(lo / dt))), (math.inf if math.isinf(hi) else int(round(hi / dt)))
        d = steps_of(self.delay, dt)
        return d, d


def _onto_repeaters(kind: str, post, synapse: str) -> float:
    """The weight of a connection onto neurons that repeat the spikes they receive (parrot_neuron): 1, which
    their ring counts as one spike (NEST ignores the weights of connections onto a parrot). Refuses what
    they do not take."""
    name = post.pieces[0].spec.name
    if not all(piece.spec.repeats_spikes for piece in post.pieces):
        raise ValueError(f"connect: post mixes {name} with other neurons ({post!r}); connect the {name}s "
                         "apart (their input weights are ignored)")
    if kind == "current":
        raise ValueError(f"connect: a {name} repeats spikes; it takes no current (dc_generator)")
    if synapse != "static_synapse":
        raise ValueError(f"connect: a {name} counts the spikes it receives; {synapse} onto it is not "
                         "supported (use static_synapse)")
    return 1.0


@dataclass
class Network:
    """A spiking network to build and simulate.

    Parameters
    ----------
    seed : int
        Seed of every random draw (connectivity, weights, delays, initial
        state, Poisson input); the same seed gives the same network and spikes
        on any partitioning.
    dt : float
        Time step in ms (default 0.1), a whole number of µs.
    """

    seed: int = 12345
    dt: float = 0.1
    populations: list = field(default_factory=list, repr=False)
    projections: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {self.seed!r}")
        if isinstance(self.dt, bool) or not isinstance(self.dt, numbers.Real):
            raise TypeError(f"dt must be a number of ms, got {self.dt!r}")
        self.dt = float(self.dt)
        if not (math.isfinite(self.dt) and self.dt > 0) or tics(self.dt) < 1 or not math.isclose(
                tics(self.dt), self.dt * TICS_PER_MS, abs_tol=1e-6):
            raise ValueError(f"dt must be a positive whole number of µs (e.g. 0.1 ms), got {self.dt!r}")

    # ------------------------------------------------------------------ create
    @property
    def n_nodes(self) -> int:
        return sum(p.n for p in self.populations)

    @property
    def neuron_populations(self) -> list:
        return [p for p in self.populations if p.spec.is_neuron]

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.neuron_populations)

    def create(self, model: str, n: int = 1, params: dict | None = None, label: str | None = None) -> Population:
        """Create ``n`` nodes of ``model`` (a NEST model name) with ``params``.

        Neuron state variables (``V_m``...) may be distributions, drawn per
        neuron from the network seed.
        """
        from ..models import MODELS

        if not isinstance(model, str) or model not in MODELS:
            raise ValueError(f"create: unknown model {model!r}; allowed: {', '.join(sorted(MODELS))}")
        spec = MODELS[model]
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"create: n must be a whole number >= 1, got {n!r}")
        if spec.is_recorder and n != 1:
            raise ValueError(f"create: n must be 1 for a {model}, got {n}; create one recorder per group instead")
        if label is not None and not isinstance(label, str):
            raise TypeError(f"create: label must be a string, got {label!r}")
        values = self._check_params(spec, {} if params is None else params)
        pop = Population(self, len(self.populations), spec, self.n_nodes + 1, int(n), values, label)
        self.populations.append(pop)
        return pop

    def _check_params(self, spec: ModelSpec, params) -> dict:
        where = f"create({spec.name!r})"
        if not isinstance(params, dict):
            raise TypeError(f"{where}: params must be a dict, got {type(params).__name__}")
        unknown = set(params) - set(spec.params) - set(spec.array_params)
        if unknown:
            raise ValueError(f"{where}: unknown parameter(s) {sorted(unknown)}; allowed: {spec.allowed()}")
        values = spec.defaults()
        for name, value in params.items():
            if name in spec.array_params:
                values[name] = self._check_array_param(spec, name, value)
                continue
            p = spec.params[name]
            if p.is_switch:
                if not isinstance(value, bool):
                    raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
                values[name] = value
                continue
            if p.is_state and isinstance(value, (Distribution, dict)):
                values[name] = distributions.parse(value, f"{where}: {name}")
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                kind = "a number or a distribution" if p.is_state else "a number"
                raise TypeError(f"{where}: {name} must be {kind} ({p.unit}), got {type(value).__name__} {value!r}")
            value = float(value)
            err = p.check(name, value)
            if err:
                raise ValueError(f"{where}: {err} ({p.unit})")
            values[name] = value
        scalars = {k: (v.support()[0] if isinstance(v, Distribution) else v) for k, v in values.items()}
        for relation in spec.relations:
            err = relation(scalars)
            if err:
                raise ValueError(f"{where}: {err}")
        for name in ("start", "stop", "origin", "interval"):
            if name in values and math.isfinite(values[name]) and not on_grid(values[name], self.dt):
                raise ValueError(f"{where}: {name} must be a multiple of dt={self.dt} ms, got {values[name]}")
        if spec.kind == "voltmeter" and not values["interval"] >= self.dt:
            raise ValueError(f"{where}: interval must be >= dt={self.dt} ms, got {values['interval']}")
        if spec.kind == "spike_source":
            mult = values["spike_multiplicities"]
            if mult and len(mult) != len(values["spike_times"]):
                raise ValueError(f"{where}: spike_multiplicities needs one entry per spike time "
                                 f"({len(values['spike_times'])}), got {len(mult)}")
        return values

    def _check_array_param(self, spec, name, value) -> tuple:
        where = f"create({spec.name!r})"
        if name == "record_from":
            names = [value] if isinstance(value, str) else value
            if isinstance(names, (bytes, dict)) or not all(isinstance(v, str) for v in list(names)):
                raise TypeError(f"{where}: record_from must be a list of state variable names, got {value!r}")
            names = tuple(names)
            if len(set(names)) != len(names):
                raise ValueError(f"{where}: record_from names a variable twice: {list(names)}")
            return names
        if isinstance(value, (str, bytes, dict)):
            raise TypeError(f"{where}: {name} must be a sequence of numbers, got {value!r}")
        try:
            items = list(value)
            if name == "spike_times":
                if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in items):
                    raise TypeError
                items = [float(v) for v in items]
        except (TypeError, ValueError):
            raise TypeError(f"{where}: {name} must be a sequence of numbers, got {value!r}") from None
        if name == "spike_times":
            for t in items:
                if not (math.isfinite(t) and t > 0):
                    raise ValueError(f"{where}: spike_times must be finite times > 0 ms, got {t!r}")
                if not on_grid(t, self.dt):
                    raise ValueError(f"{where}: spike_times must be multiples of dt={self.dt} ms, got {t!r}")
            if any(b < a for a, b in zip(items, items[1:])):
                raise ValueError(f"{where}: spike_times must be sorted in non-decreasing order")
        else:
            for m in items:
                if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 0:
                    raise ValueError(f"{where}: spike_multiplicities must be whole numbers >= 0, got {m!r}")
            items = [int(m) for m in items]
        return tuple(items)

    # ----------------------------------------------------------------- connect
    def connect(self, pre: Population | Collection, post: Population | Collection, conn_spec=None,
                syn_spec=None) -> Projection:
        """Connect ``pre`` to ``post`` with NEST's ``conn_spec`` and ``syn_spec``.

        Generators connect to neurons (``connect(pg, E, syn_spec=...)``),
        neurons to a spike_recorder (``connect(E, sr)``), a voltmeter to
        neurons (``connect(vm, E)``). Weights in pA (sign selects the
        excitatory or inhibitory receptor), delays in ms. Either side may be
        populations concatenated (``E + I``): the rule then draws over all
        their nodes as one group, indexed in gid order, as NEST does.
        """
        for name, pop in (("pre", pre), ("post", post)):
            if not isinstance(pop, (Population, Collection)):
                raise TypeError(f"connect: {name} must be a dsnn Population (or populations added: E + I), "
                                f"got {type(pop).__name__}")
            if pop.network is not self:
                raise ValueError(f"connect: {name} {pop!r} belongs to another Network")
            kinds = {piece.kind for piece in pop.pieces}
            if len(kinds) > 1:
                raise ValueError(f"connect: {name} mixes kinds of node ({', '.join(sorted(kinds))}); connect "
                                 "neurons and each kind of device apart")
        kind = self._projection_kind(pre.pieces[0].spec, post.pieces[0].spec)
        if post.kind in ("spike_recorder", "voltmeter") and len(post.pieces) > 1:
            raise ValueError(f"connect: post must be one recorder, got {post!r}")
        if pre.kind in ("spike_recorder", "voltmeter") and len(pre.pieces) > 1:
            raise ValueError(f"connect: pre must be one recorder, got {pre!r}")
        overlap = _overlap(pre, post)
        if kind == "record_vm":
            self._check_recorded(pre, post)
        if kind in ("record_spikes", "record_vm"):
            rule = parse_conn_spec(conn_spec, pre.n, post.n, overlap)
            if rule.name != "all_to_all":
                raise ValueError(f"connect: recorders connect all_to_all, got rule {rule.name!r}")
            if syn_spec:
                raise ValueError("connect: syn_spec is not allowed for a recorder connection")
            proj = Projection(len(self.projections), kind, pre, post, rule, 1.0, self.dt)
        else:
            rule = parse_conn_spec(conn_spec, pre.n, post.n, overlap)
            weight, delay, synapse, synapse_params = self._check_syn_spec(syn_spec)
            if synapse != "static_synapse" and not (kind == "synapse" and pre.is_neuron):
                raise ValueError(f"connect: a {synapse} connects neurons to neurons; pre is {pre!r}")
            if any(piece.spec.repeats_spikes for piece in post.pieces):
                weight = _onto_repeaters(kind, post, synapse)
            proj = Projection(len(self.projections), kind, pre, post, rule, weight, delay, synapse, synapse_params)
        self.projections.append(proj)
        return proj

    @staticmethod
    def _check_recorded(meter, post) -> None:
        """What a voltmeter or multimeter ``meter`` records must be a recordable of every neuron of ``post``."""
        from ..models.devices import recorded_variables

        names = recorded_variables(meter.pieces[0])  # none (NEST's default record_from): it records nothing
        for piece in post.pieces:
            spec = piece.spec
            if meter.pieces[0].spec.name == "voltmeter" and not spec.has_membrane_potential:
                raise ValueError(f"connect: a {spec.name} has no membrane potential to record; post is {post!r}")
            missing = [name for name in names if name not in spec.recordables]
            if missing:
                allowed = ", ".join(spec.recordables) or "nothing"
                raise ValueError(f"connect: a {spec.name} has no {missing[0]} to record (record_from); it records "
                                 f"{allowed}")

    @staticmethod
    def _projection_kind(pre: ModelSpec, post: ModelSpec) -> str:
        if post.kind == "spike_recorder":
            if not pre.is_neuron:
                raise ValueError(f"connect: a spike_recorder records from neurons; recording from a device "
                                 f"({pre.name}) is not supported")
            return "record_spikes"
        if pre.kind == "voltmeter":
            if not post.is_neuron:
                raise ValueError(f"connect: a {pre.name} records from neurons; recording from a device "
                                 f"({post.name}) is not supported")
            return "record_vm"
        if post.kind == "voltmeter" or pre.kind == "spike_recorder":
            raise ValueError("connect: recorders are connected as connect(neurons, spike_recorder) and "
                             f"connect(voltmeter, neurons); got pre={pre.name}, post={post.name}")
        if not post.is_neuron:
            raise ValueError(f"connect: post must be neurons, got a {post.name}")
        return {"neuron": "synapse", "spike_source": "synapse", "poisson": "poisson", "current": "current"}[pre.kind]

    def _check_syn_spec(self, syn_spec):
        if syn_spec is None:
            syn_spec = {}
        elif isinstance(syn_spec, str):
            syn_spec = {"synapse_model": syn_spec}
        elif not isinstance(syn_spec, dict):
            raise TypeError(f"syn_spec must be a dict, got {type(syn_spec).__name__}")
        model = syn_spec.get("synapse_model", "static_synapse")
        if model not in SYNAPSE_MODELS:
            raise ValueError(f"syn_spec: synapse_model must be one of {sorted(SYNAPSE_MODELS)}, got {model!r}")
        common = {"synapse_model", "weight", "delay", "receptor_type"}
        unknown = set(syn_spec) - common - set(SYNAPSE_MODELS[model])
        if unknown:
            raise ValueError(f"syn_spec: unknown key(s) {sorted(unknown)}; allowed: "
                             f"{sorted(common | set(SYNAPSE_MODELS[model]))}")
        if syn_spec.get("receptor_type", 0) != 0:
            raise ValueError(f"syn_spec: receptor_type must be 0 (the receptor follows the sign of the weight), "
                             f"got {syn_spec['receptor_type']!r}")
        weight = distributions.parse(syn_spec.get("weight", 1.0), "syn_spec: weight")
        bounds = weight.support() if isinstance(weight, Distribution) else (weight, weight)
        if any(math.isfinite(b) and abs(b) >= 2.0**31 for b in bounds):
            raise ValueError(f"syn_spec: weight must be within ±2**31 pA, got {weight!r}")
        delay = distributions.parse(syn_spec.get("delay", 1.0), "syn_spec: delay")
        if isinstance(delay, Distribution):
            lo, _ = delay.support()
            if not lo >= self.dt:
                raise ValueError(f"syn_spec: a delay distribution must be bounded below by dt={self.dt} ms "
                                 f"(use dsnn.math.redraw or clip with min >= dt), got {delay!r}")
        else:
            if not delay >= self.dt:
                raise ValueError(f"syn_spec: delay must be >= dt={self.dt} ms, got {delay}")
            if not on_grid(delay, self.dt):
                raise ValueError(f"syn_spec: delay must be a multiple of dt={self.dt} ms, got {delay}")
        extra = {k: v for k, v in syn_spec.items() if k not in common}
        synapse, synapse_params = parse_synapse(model, extra, bounds)
        return weight, delay, synapse, synapse_params

    # ------------------------------------------------------------------- build
    def memory_estimate(self, partitions=1) -> list[dict]:
        """What each partition will hold once built, estimated without drawing anything.

        ``partitions`` as in :meth:`build`. Returns one dict per partition:
        ``synapses`` (expected count), ``bytes`` (total) and its parts
        (``synapse_bytes``, ``rings``, ``neurons``, ``inputs``). :meth:`build`
        refuses a network whose estimate, with the construction peak, does not
        fit in the memory of the process or workers that would hold it.
        """
        return _the_engine().memory_estimate(self, partitions)

    def build(self, client=None, partitions=1, exchange: str = "p2p", device: str = "cpu",
              timeout: float = 20.0, threads: int | None = None):
        """Build the network and return a :class:`dsnn.Simulation`.

        Parameters
        ----------
        client : distributed.Client or None
            None builds and runs every partition in this process.
        partitions : int, sequence of int, or sequence of populations
            Number of partitions (neurons split into near-equal contiguous
            blocks in gid order), the number of neurons of each partition,
            or an explicit placement: for each partition, the populations
            (or population slices) it owns, e.g. ``[[V1_E, V1_I], [V2_E,
            V2_I]]`` to put one area on one partition. Together they must
            cover every neuron once, in the order the neurons were created.
        exchange : {"p2p", "collective"}
            How partitions exchange spikes: point-to-point (each partition
            sends to the partitions that need its neurons) or an all-gather
            (Bruck's algorithm) filtered by each receiver.
        device : {"cpu", "gpu", "auto"}
            Where partitions keep their arrays and step: the CPU (NumPy and
            numba), the CUDA GPU (CuPy kernels; same spikes bit for bit), or
            the GPU where CuPy sees one, else the CPU. On a cluster, each
            worker decides for its own partition.
        timeout : float
            Seconds a partition waits for one message from a peer before the
            run fails (a lost worker is noticed sooner, when its channels
            close).
        threads : int, optional
            In-process only: threads stepping the partitions (default: one
            per core where each partition has enough to compute per
            interval for threads to pay, else one; see
            :mod:`dsnn.runners.in_process`). The spikes are the same.
        """
        return _the_engine().build(self, client, partitions, exchange, device, timeout, threads)

    @property
    def min_delay_steps(self) -> int:
        """Length of one exchange interval in steps: the smallest neuron-to-neuron delay."""
        delays = [p.delay_range_steps[0] for p in self.projections
                  if p.kind == "synapse" and p.pre.is_neuron]
        if delays:
            return min(delays)
        return max(1, int(round(1.0 / self.dt)))

    def __repr__(self) -> str:
        return (f"<dsnn.Network: seed {self.seed}, dt {self.dt} ms, {self.n_neurons} neurons in "
                f"{len(self.neuron_populations)} populations, {len(self.projections)} projections>")


def _overlap(pre: Population | Collection, post: Population | Collection) -> int:
    """How many nodes are in both ``pre`` and ``post``."""
    return sum(max(0, min(a + m, b + n) - max(a, b)) for a, m in pre.spans for b, n in post.spans)
