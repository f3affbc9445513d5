"""The GPU path (CuPy kernels of dsnn.gpu): bitwise the CPU's results where a GPU exists.

On machines without CuPy or without a CUDA device the comparisons skip; the
checks of the error a user gets there run everywhere.
"""

import numpy as np
import pytest

import dsnn
from dsnn import gpu

needs_gpu = pytest.mark.skipif(not gpu.available(), reason="needs CuPy and a CUDA GPU")


def _mixed_network(model):
    """Every kernel at once: Poisson, dc and spike_generator input, fixed and random weights,
    several delays, voltmeter and spike recorder."""
    net = dsnn.Network(seed=7, dt=0.1)
    params = {"V_m": dsnn.random.uniform(-70.0, -55.0), "t_ref": 2.0}
    A = net.create(model, 300, params, label="A")
    B = net.create(model, 120, params, label="B")
    pg = net.create("poisson_generator", params={"rate": 12000.0, "start": 5.0})
    dc = net.create("dc_generator", params={"amplitude": 150.0, "start": 20.0, "stop": 150.0})
    sg = net.create("spike_generator", params={"spike_times": [3.0, 4.5, 40.2, 90.0]})
    net.connect(A, A, {"rule": "fixed_indegree", "indegree": 40}, {"weight": 60.0, "delay": 1.5})
    net.connect(A, B, {"rule": "pairwise_bernoulli", "p": 0.2},
                {"weight": dsnn.random.normal(50.0, 10.0), "delay": dsnn.random.uniform(1.0, 4.0)})
    net.connect(B, A, {"rule": "fixed_total_number", "N": 5000}, {"weight": -250.0, "delay": 1.0})
    net.connect(pg, A, syn_spec={"weight": 80.0, "delay": 1.0})
    net.connect(pg, B, syn_spec={"weight": 80.0, "delay": 1.0})
    net.connect(dc, B, syn_spec={"weight": 1.0, "delay": 0.5})
    net.connect(sg, A[0:50], syn_spec={"weight": 900.0, "delay": 2.0})
    sr = net.create("spike_recorder")
    vm = net.create("voltmeter", params={"interval": 0.1})
    net.connect(A, sr)
    net.connect(B, sr)
    net.connect(vm, A[10:13])
    net.connect(vm, B[0:2])
    return net, sr, vm


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_alpha"])
@pytest.mark.parametrize("partitions", [1, 3])
def test_gpu_equals_cpu_bit_for_bit(model, partitions):
    results = {}
    for device in ("cpu", "gpu"):
        net, sr, vm = _mixed_network(model)
        sim = net.build(partitions=partitions, device=device)
        assert all(p.gpu == (device == "gpu") for p in sim.partitions)
        sim.run(100.0)
        sim.run(100.0)
        results[device] = (sim.spikes(sr), sim.voltages(vm), sim.connections())
    cpu, dev = results["cpu"], results["gpu"]
    assert len(cpu[0]) > 100
    assert dev[0].equals(cpu[0])
    assert dev[1].equals(cpu[1])
    assert dev[2].equals(cpu[2])


@needs_gpu
@pytest.mark.gpu
def test_gpu_brunel_equals_cpu(brunel):
    spikes = {}
    for device in ("cpu", "gpu"):
        net = brunel.network(scale=0.1, seed=5)
        sim = net.build(partitions=2, device=device)
        sim.run(200.0)
        spikes[device] = sim.spikes(net.populations[-1])
    assert len(spikes["cpu"]) > 1000
    assert spikes["gpu"].equals(spikes["cpu"])


def test_device_is_validated():
    net = dsnn.Network(seed=1)
    net.create("iaf_psc_exp", 3)
    with pytest.raises(ValueError, match="device must be 'cpu', 'gpu' or 'auto'"):
        net.build(device="cuda")


@pytest.mark.skipif(gpu.available(), reason="checks the message on machines without a GPU")
def test_gpu_request_without_gpu_names_the_extra():
    net = dsnn.Network(seed=1)
    net.create("iaf_psc_exp", 3)
    with pytest.raises(RuntimeError, match=r"dsnn\[gpu\]"):
        net.build(device="gpu")


@pytest.mark.skipif(gpu.available(), reason="checks the fallback on machines without a GPU")
def test_auto_device_falls_back_to_the_cpu():
    net = dsnn.Network(seed=1)
    n = net.create("iaf_psc_exp", 3, {"I_e": 500.0})
    sr = net.create("spike_recorder")
    net.connect(n, sr)
    sim = net.build(device="auto")
    sim.run(50.0)
    assert not any(p.gpu for p in sim.partitions)
    assert len(sim.spikes(sr)) > 0


def _nvrtc():
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
        return nvrtc
    except Exception:
        return None


@pytest.mark.skipif(_nvrtc() is None, reason="needs CuPy's NVRTC (pip install 'dsnn[gpu]')")
def test_kernels_compile_without_fused_multiply_add():
    """The CUDA source compiles (no device needed) into every kernel, and with the
    options dsnn uses no float64 multiply-add is fused, which would change results
    against the CPU; without the option NVRTC does fuse them."""
    nvrtc = _nvrtc()

    def ptx(options):
        prog = nvrtc.createProgram(gpu._SOURCE, "dsnn.cu", [], [])
        nvrtc.compileProgram(prog, ["-arch=compute_80", *options])
        text = nvrtc.getPTX(prog)
        return text.decode() if isinstance(text, bytes) else text

    code = ptx(gpu.COMPILE_OPTIONS)
    for name in ("iaf_psc_exp_update", "iaf_psc_alpha_update", "deliver32", "deliver64", "poisson_input",
                 "current_input"):
        assert f".entry {name}(" in code
    assert "fma.rn.f64" not in code
    assert "fma.rn.f64" in ptx([o for o in gpu.COMPILE_OPTIONS if not o.startswith("--fmad")])
