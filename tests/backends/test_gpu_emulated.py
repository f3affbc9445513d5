"""The GPU path where there is no GPU: dsnn's CUDA kernels compiled for the CPU (tests/cuda_emulation.py),
CuPy stood in for by NumPy, a network built with ``device="gpu"`` against the same network on the CPU, bit
for bit. (tests/backends/test_gpu.py runs the same comparisons on a real GPU, where one is lent.)"""

import numpy as np
import pytest
from cuda_emulation import EmulatedModule, compiler, emulated_gpu
from gpu_checks import assert_device_exp_and_pow_are_libms, assert_same, on_cpu_and_gpu
from networks import conductance_network, mixed_network, parrot_network, plastic_network

from dsnn.backends import gpu
from dsnn.models import NEURON_MODELS

pytestmark = pytest.mark.skipif(compiler() is None, reason="needs a C++ compiler to build the kernels for the CPU")

#: the models with a CUDA update that mixed_network takes (currents in pA; parrots and the conductance-based
#: models have their own networks)
GPU_MODELS = sorted(name for name, model in NEURON_MODELS.items()
                    if model.CUDA_KERNEL and not model.SPEC.repeats_spikes and "cond" not in name)

#: the conductance-based models and the Poisson drive (spikes/s, nS) that makes each fire at 30-60 spikes/s in
#: conductance_network
CONDUCTANCE_DRIVE = {"iaf_cond_exp": (12000.0, 3.0), "iaf_cond_alpha": (9000.0, 2.0),
                     "aeif_cond_exp": (16000.0, 6.0), "aeif_cond_alpha": (12000.0, 3.0)}


@pytest.fixture
def emulated(monkeypatch):
    return emulated_gpu(monkeypatch)


def _run_both(make, partitions, t_ms=(100.0, 100.0)):
    """Spikes, voltages and connections of ``make()``'s network (network, recorder, voltmeter)."""
    return on_cpu_and_gpu(make, partitions, t_ms,
                          lambda sim, sr, vm: (sim.spikes(sr), sim.voltages(vm), sim.connections()))


@pytest.mark.parametrize("model", GPU_MODELS)
@pytest.mark.parametrize("partitions", [1, 3])
def test_the_gpu_path_equals_the_cpu_bit_for_bit(emulated, model, partitions):
    cpu, dev = _run_both(lambda: mixed_network(model), partitions)
    assert len(cpu[0]) > 100
    assert_same(cpu, dev)


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
    assert_same(cpu, dev)


def test_the_kernels_exp_and_pow_are_glibcs(emulated):
    """glibc_exp and glibc_pow compiled from the CUDA source equal the host's libm (gpu_checks)."""
    assert_device_exp_and_pow_are_libms()


@pytest.mark.parametrize("model", sorted(CONDUCTANCE_DRIVE))
def test_conductance_models_on_the_gpu_path_equal_the_cpu_bit_for_bit(emulated, model):
    """The adaptive RKF45 integration of NEST's conductance-based and AdEx models (rkf45_evolve: step control,
    the spike test inside the integration, glibc's exp and pow) gives the CPU's spikes and V_m exactly, on 2
    partitions, over two runs."""
    rate, weight = CONDUCTANCE_DRIVE[model]
    cpu, dev = _run_both(lambda: conductance_network(model, rate=rate, weight=weight), 2, (80.0, 70.0))
    assert len(cpu[0]) > 600  # > 20 spikes/s
    assert_same(cpu, dev)


def test_the_exact_conductance_option_stays_on_the_cpu(emulated):
    net, _, _ = conductance_network("aeif_cond_alpha", exact=True)
    with pytest.raises(ValueError, match="aeif_cond_alpha with exact_conductances has no GPU kernel yet"):
        net.build(device="gpu")
    assert not any(p.gpu for p in net.build(device="auto").partitions)


def test_an_unstable_adex_neuron_on_the_gpu_path_stops_the_run_as_on_the_cpu(emulated):
    import dsnn

    for device in ("cpu", "gpu"):
        net = dsnn.Network(seed=1)
        n = net.create("aeif_cond_exp", 1, {"I_e": -2e6})
        net.connect(n, net.create("spike_recorder"))
        sim = net.build(device=device)
        with pytest.raises(Exception, match="FloatingPointError.*numerically unstable"):
            sim.run(20.0)


def test_spikes_beyond_the_buffers_on_the_gpu_path_stop_the_run_as_on_the_cpu(emulated):
    """An AdEx neuron without refractory period spiking at every integration step (see
    tests/models/test_conductance_vs_nest.py): more spikes than the buffers hold end the run."""
    import dsnn

    for device in ("cpu", "gpu"):
        net = dsnn.Network(seed=1)
        n = net.create("aeif_cond_exp", 1, {"V_reset": -30.0, "a": 0.0, "b": 0.0, "I_e": 1000.0})
        net.connect(n, net.create("spike_recorder"))
        sim = net.build(device=device)
        with pytest.raises(Exception, match="OverflowError.*more spikes in one interval than neurons times steps"):
            sim.run(20.0)


def _with_multimeters(make, model):
    """``make()``'s network with two multimeters on the neurons its voltmeter records and others: one
    recording every recordable of ``model``, one its last alone (a neuron with several columns)."""

    def build():
        net, sr, vm = make()
        neurons = net.neuron_populations[0]
        recordables = list(NEURON_MODELS[model].SPEC.recordables)
        every = net.create("multimeter", params={"record_from": recordables, "interval": 0.1})
        last = net.create("multimeter", params={"record_from": recordables[-1:], "interval": 0.1})
        net.connect(every, neurons[:6])
        net.connect(last, neurons[2:4])
        return net, (sr, every, last), vm

    return build


@pytest.mark.parametrize("model", sorted(set(GPU_MODELS) | set(CONDUCTANCE_DRIVE)))
def test_multimeters_on_the_gpu_path_record_what_the_cpu_records(emulated, model):
    """Every state variable a multimeter may record (g_ex, w, I_syn_ex, U_m ...), several on one neuron,
    beside a voltmeter: the GPU's recordings equal the CPU's bit for bit."""
    if model in CONDUCTANCE_DRIVE:
        rate, weight = CONDUCTANCE_DRIVE[model]
        make = _with_multimeters(lambda: conductance_network(model, rate=rate, weight=weight), model)
    else:
        make = _with_multimeters(lambda: mixed_network(model), model)
    cpu, dev = on_cpu_and_gpu(make, 2, (60.0,), lambda sim, rec, vm: [*(sim.voltages(m) for m in rec[1:]),
                                                                       sim.voltages(vm), sim.spikes(rec[0])])
    assert len(cpu[0]) == 6 * 600 and len(cpu[1]) == 2 * 600
    assert set(NEURON_MODELS[model].SPEC.recordables) <= set(cpu[0].columns)
    assert_same(cpu, dev)


@pytest.mark.parametrize("synapse", ["stdp_synapse", "stdp_pl_synapse_hom", "tsodyks2_synapse"])
@pytest.mark.parametrize("partitions", [1, 2])
def test_plastic_synapses_on_the_gpu_path_change_as_on_the_cpu(emulated, synapse, partitions):
    """NEST's STDP rules and short-term plasticity on the GPU (plastic_deliver, the spike histories recorded
    and pruned on the device): the spikes and every weight of the CPU's run, bit for bit, over two runs."""
    (cpu_spikes, cpu_w), (gpu_spikes, gpu_w) = on_cpu_and_gpu(
        lambda: plastic_network(synapse=synapse), partitions, (150.0, 150.0),
        lambda sim, proj, sr: (sim.spikes(sr), sim.connections(proj)))
    assert len(cpu_spikes) > 500
    drawn = plastic_network(synapse=synapse)
    assert (drawn[0].build().connections(drawn[1])["weight"] != cpu_w["weight"]).mean() > (
        0.5 if synapse != "tsodyks2_synapse" else -1)  # the STDP weights moved
    assert gpu_spikes.equals(cpu_spikes)
    assert gpu_w.equals(cpu_w)


def test_spike_histories_on_the_device_are_the_hosts(emulated):
    """PostHistoryOnDevice records (rows growing past their first capacity) and prunes as the host's
    PostHistory does: the same times, traces and counts."""
    from dsnn.backends import plasticity
    from dsnn.backends.partition import PostHistory

    n = 12
    rng = np.random.default_rng(9)
    post = PostHistory(np.full(n, 1 / 30.0), np.zeros(n), np.full(n, -1.0), np.zeros((n, 4)), np.zeros((n, 4)),
                       np.zeros(n, dtype=np.int64), np.full((n, plasticity.NEWEST), -np.inf))
    device = gpu.PostHistoryOnDevice(post)
    for first in range(0, 600, 20):  # neuron 0 spikes every step (600 spikes), the others now and then
        idx = np.concatenate([np.zeros(20, dtype=np.int64), rng.integers(1, n, 6)])
        steps = np.concatenate([np.arange(first, first + 20), rng.integers(first, first + 20, 6)])
        order = np.argsort(steps, kind="stable")
        idx, steps = idx[order], steps[order].astype(np.int64)
        post.record(idx, steps, 100)
        device.record(idx, steps, 100, post.t.shape[1])
        if first == 300:  # forget what came before 20 ms, on both
            plasticity.prune_history(20.0, post.t, post.k, post.n)
            device.prune(20.0)
    assert post.t.shape[1] > 4 and post.n[0] > 300
    for name in ("t", "k", "n", "kminus", "last_spike"):
        assert np.array_equal(getattr(device, name).get(), getattr(post, name)), name


@pytest.mark.parametrize("synapse", ["stdp_synapse", "tsodyks2_synapse"])
def test_a_checkpoint_of_plastic_synapses_on_the_gpu_path_continues_the_cpus_run(emulated, tmp_path, synapse):
    """150 ms on the GPU (2 partitions), a checkpoint, restored on the GPU on 3 partitions, 150 ms more: the
    spikes and weights of the uninterrupted CPU run (the device's histories, weights and traces saved and
    put back)."""
    import dsnn

    net, proj, sr = plastic_network(synapse=synapse)
    whole = net.build(partitions=1)
    whole.run(300.0)
    net2, proj2, sr2 = plastic_network(synapse=synapse)
    first = net2.build(partitions=2, device="gpu")
    first.run(150.0)
    resumed = dsnn.restore(net2, first.checkpoint(tmp_path / "at150"), partitions=3, device="gpu")
    assert all(p.gpu for p in resumed.partitions)
    resumed.run(150.0)
    assert resumed.spikes(sr2).equals(whole.spikes(sr))
    assert resumed.connections(proj2).equals(whole.connections(proj))
