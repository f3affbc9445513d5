"""The GPU path where there is no GPU: dsnn's CUDA kernels compiled for the CPU (tests/cuda_emulation.py),
CuPy stood in for by NumPy, a network built with ``device="gpu"`` against the same network on the CPU, bit
for bit. (tests/backends/test_gpu.py runs the same comparisons on a real GPU, where one is lent.)"""

import pytest
from cuda_emulation import EmulatedModule, compiler, emulated_gpu
from gpu_checks import assert_device_exp_and_pow_are_libms
from networks import mixed_network, parrot_network

from dsnn.backends import gpu
from dsnn.models import NEURON_MODELS

pytestmark = pytest.mark.skipif(compiler() is None, reason="needs a C++ compiler to build the kernels for the CPU")

#: the models with a CUDA update that mixed_network takes (parrots take no current: their own network below)
GPU_MODELS = sorted(name for name, model in NEURON_MODELS.items()
                    if model.CUDA_KERNEL and not model.SPEC.repeats_spikes)


@pytest.fixture
def emulated(monkeypatch):
    return emulated_gpu(monkeypatch)


def _run_both(make, partitions, t_ms=(100.0, 100.0)):
    results = {}
    for device in ("cpu", "gpu"):
        net, sr, vm = make()
        sim = net.build(partitions=partitions, device=device)
        assert all(p.gpu == (device == "gpu") for p in sim.partitions)
        for t in t_ms:
            sim.run(t)
        results[device] = (sim.spikes(sr), sim.voltages(vm), sim.connections())
    return results["cpu"], results["gpu"]


@pytest.mark.parametrize("model", GPU_MODELS)
@pytest.mark.parametrize("partitions", [1, 3])
def test_the_gpu_path_equals_the_cpu_bit_for_bit(emulated, model, partitions):
    cpu, dev = _run_both(lambda: mixed_network(model), partitions)
    assert len(cpu[0]) > 100
    for a, b in zip(cpu, dev):
        assert b.equals(a)


def test_a_changed_kernel_is_seen(emulated, monkeypatch):
    """The comparison above would see a kernel that computes something else: izhikevich's with 0.0401 for
    0.04 gives other spikes."""
    source = gpu.source()
    assert source.count("(0.04 * v_old * v_old") == 1
    broken = EmulatedModule(source.replace("(0.04 * v_old * v_old", "(0.0401 * v_old * v_old"))
    monkeypatch.setattr(gpu, "_module", lambda: broken)
    cpu, dev = _run_both(lambda: mixed_network("izhikevich"), 1, (50.0,))
    assert not dev[0].equals(cpu[0])


def test_the_brunel_network_on_the_gpu_path(emulated, brunel):
    spikes = {}
    for device in ("cpu", "gpu"):
        net = brunel.network(scale=0.05, seed=5)
        sim = net.build(partitions=2, device=device)
        sim.run(100.0)
        spikes[device] = sim.spikes(net.populations[-1])
    assert len(spikes["cpu"]) > 200
    assert spikes["gpu"].equals(spikes["cpu"])


@pytest.mark.parametrize("partitions", [1, 2])
def test_parrots_on_the_gpu_path_repeat_every_spike_as_on_the_cpu(emulated, partitions):
    cpu, dev = _run_both(parrot_network, partitions, (30.0, 20.0))
    spikes = cpu[0]
    multiple = spikes.groupby(["sender", "time"]).size()
    assert len(spikes) > 10_000 and multiple.max() >= 5  # many steps with several spikes of one parrot
    for a, b in zip(cpu, dev):
        assert b.equals(a)


def test_the_kernels_exp_and_pow_are_glibcs(emulated):
    """glibc_exp and glibc_pow compiled from the CUDA source equal the host's libm (gpu_checks)."""
    assert_device_exp_and_pow_are_libms()
