"""Load (or, the first time on a machine, compile) the kernels a typical network uses.

A tiny network that touches the common kernels with the types of a
typical partition (16-bit synapse words, fixed and random weights and
delays, Poisson, dc and spike_generator input, both neuron models) is
built and run in this process. Worker processes do this as they start
(:mod:`dsnn.launch.preload`) so that a build on a fresh cluster does not
wait for numba; networks that need other types (wider words) load those
kernels on their first build.
"""

from __future__ import annotations

from ..description import distributions
from ..description.network import Network
from ..support.jit import compile_seconds

__all__ = ["warm_up", "warm_up_network"]


def warm_up_network() -> Network:
    """The tiny network :func:`warm_up` builds and runs."""
    net = Network(seed=1, dt=0.1)
    state = {"V_m": distributions.uniform(-70.0, -55.0)}
    E = net.create("iaf_psc_exp", 40, state)
    I = net.create("iaf_psc_alpha", 10, state)
    net.connect(E, E, {"rule": "fixed_indegree", "indegree": 4}, {"weight": 20.0, "delay": 1.5})
    net.connect(E, I, {"rule": "pairwise_bernoulli", "p": 0.2},
                {"weight": distributions.normal(20.0, 2.0), "delay": distributions.uniform(1.0, 3.0)})
    net.connect(I, E, {"rule": "fixed_indegree", "indegree": 2, "allow_multapses": False},
                {"weight": -40.0, "delay": 1.0})
    pg = net.create("poisson_generator", params={"rate": 8000.0})
    net.connect(pg, E, syn_spec={"weight": 20.0, "delay": 1.0})
    net.connect(pg, I, syn_spec={"weight": 20.0, "delay": 1.0})
    net.connect(net.create("dc_generator", params={"amplitude": 10.0}), E, syn_spec={"weight": 1.0})
    net.connect(net.create("spike_generator", params={"spike_times": [1.0]}), I, syn_spec={"weight": 5.0})
    net.connect(E, net.create("spike_recorder"))
    net.connect(net.create("voltmeter", params={"interval": 0.1}), E[0:1])
    return net


def warm_up() -> float:
    """Build and run :func:`warm_up_network` here; returns the seconds spent compiling or loading kernels."""
    before = compile_seconds()
    sim = warm_up_network().build()
    sim.run(2.0)
    sim.close()
    return compile_seconds() - before
