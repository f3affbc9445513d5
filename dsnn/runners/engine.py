"""What ``Network.build`` and ``Network.memory_estimate`` hand over to: checks, then a runner.

The description layer never imports what builds it; ``import dsnn``
attaches this engine to it (:func:`dsnn.description.network.attach_engine`).
Every argument is checked here, in the client, before any work starts;
then the network is built in this process (``client=None``,
:mod:`.in_process`) or on the workers of a Dask cluster (:mod:`.cluster`).
The heavy modules are imported only when a network is built, so that
``import dsnn`` stays light.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["Engine", "EXCHANGES", "DEVICES"]

#: the exchange modes
EXCHANGES = ("p2p", "collective")
#: where partitions keep their arrays
DEVICES = ("cpu", "gpu", "auto")


class Engine:
    """Builds networks and estimates their memory (see :meth:`dsnn.Network.build`)."""

    def build(self, net, client, partitions, exchange: str, device: str, timeout: float, threads=None):
        from ..models import NEURON_MODELS
        from ..partitioning import Decomposition

        if exchange not in EXCHANGES:
            raise ValueError(f"build: exchange must be 'p2p' or 'collective', got {exchange!r}")
        if device not in DEVICES:
            raise ValueError(f"build: device must be 'cpu', 'gpu' or 'auto', got {device!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 < timeout < math.inf:
            raise ValueError(f"build: timeout must be a number of seconds > 0, got {timeout!r}")
        if threads is not None:
            if client is not None:
                raise ValueError("build: threads is for in-process builds (client=None); on a cluster every "
                                 "partition has its worker")
            if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
                raise ValueError(f"build: threads must be a whole number >= 1, got {threads!r}")
        cpu_only = sorted(
            {pop.model for pop in net.neuron_populations if not NEURON_MODELS[pop.model].CUDA_KERNEL}) + sorted(
            {f"{pop.model} with exact_conductances" for pop in net.neuron_populations
             if float(pop.params.get("exact_conductances", 0.0)) != 0.0})
        if cpu_only and device == "gpu":
            raise ValueError(f"build: {cpu_only[0]} has no GPU kernel yet; build with device='cpu'")
        if cpu_only:
            device = "cpu"  # "auto" too: these models are on the CPU
        decomposition = Decomposition.of(net, partitions)
        if client is None:
            from .in_process import build_in_process

            sim = build_in_process(net, decomposition, exchange, device, float(timeout), threads)
        else:
            from .cluster import build_on_cluster

            sim = build_on_cluster(client, net, decomposition, exchange, device, float(timeout))
        sim.build_options = {"client": client, "partitions": partitions, "device": device, "timeout": float(timeout),
                             "threads": threads}
        return sim

    def memory_estimate(self, net, partitions) -> list[dict]:
        from ..construction.estimate import partition_bytes
        from ..partitioning import Decomposition

        if net.n_neurons == 0:
            raise ValueError("memory_estimate: the network has no neurons")
        return partition_bytes(net, Decomposition.of(net, partitions))
