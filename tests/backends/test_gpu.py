"""The GPU path (CuPy kernels of dsnn.gpu): bitwise the CPU's results where a GPU exists.

On machines without CuPy or without a CUDA device the comparisons skip; the
checks of the error a user gets there run everywhere.
"""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from gpu_checks import assert_device_exp_and_pow_are_libms, assert_same, on_cpu_and_gpu
from networks import conductance_network, mixed_network, parrot_network, plastic_network

import dsnn
from dsnn.backends import gpu, plasticity
from dsnn.models import NEURON_MODELS
from dsnn.support import glibc_math

needs_gpu = pytest.mark.skipif(not gpu.available(), reason="needs CuPy and a CUDA GPU")


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_alpha", "iaf_psc_delta", "izhikevich"])
@pytest.mark.parametrize("partitions", [1, 3])
def test_gpu_equals_cpu_bit_for_bit(model, partitions):
    cpu, dev = on_cpu_and_gpu(lambda: mixed_network(model), partitions, (100.0, 100.0),
                              lambda sim, sr, vm: (sim.spikes(sr), sim.voltages(vm), sim.connections()))
    assert len(cpu[0]) > 100
    assert_same(cpu, dev)


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("model,drive", [("iaf_cond_exp", (12000.0, 3.0)), ("iaf_cond_alpha", (9000.0, 2.0)),
                                         ("aeif_cond_exp", (16000.0, 6.0)), ("aeif_cond_alpha", (12000.0, 3.0))])
def test_gpu_conductance_models_equal_cpu_bit_for_bit(model, drive):
    cpu, dev = on_cpu_and_gpu(lambda: conductance_network(model, rate=drive[0], weight=drive[1]), 2, (80.0, 70.0),
                              lambda sim, sr, vm: (sim.spikes(sr), sim.voltages(vm)))
    assert len(cpu[0]) > 600
    assert_same(cpu, dev)


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("synapse", ["stdp_synapse", "stdp_pl_synapse_hom", "tsodyks2_synapse"])
def test_gpu_plastic_synapses_equal_cpu_bit_for_bit(synapse):
    cpu, dev = on_cpu_and_gpu(lambda: plastic_network(synapse=synapse), 2, (150.0, 150.0),
                              lambda sim, proj, sr: (sim.spikes(sr), sim.connections(proj)))
    assert len(cpu[0]) > 500
    assert_same(cpu, dev)


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("partitions", [1, 2])
def test_gpu_parrots_equal_cpu_bit_for_bit(partitions):
    cpu, dev = on_cpu_and_gpu(parrot_network, partitions, (50.0,),
                              lambda sim, sr, vm: (sim.spikes(sr), sim.voltages(vm)))
    assert len(cpu[0]) > 10_000
    assert_same(cpu, dev)


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


@needs_gpu
@pytest.mark.gpu
@pytest.mark.skipif(not glibc_math.exact_here(), reason="the host's libm is not glibc's with FMA")
def test_the_kernels_exp_and_pow_are_glibcs():
    assert_device_exp_and_pow_are_libms()


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


def _ptx(options) -> str:
    """PTX of the CUDA source with ``options``: by CuPy's NVRTC, or by nvcc where that is all there is."""
    nvrtc = _nvrtc()
    if nvrtc is not None:
        prog = nvrtc.createProgram(gpu.source(), "dsnn.cu", [], [])
        nvrtc.compileProgram(prog, ["-arch=compute_80", *options])
        text = nvrtc.getPTX(prog)
        return text.decode() if isinstance(text, bytes) else text
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "dsnn.cu"
        src.write_text(gpu.source())
        subprocess.run([shutil.which("nvcc"), "-ptx", "-arch=compute_80", *options, "-o", str(src.with_suffix(".ptx")),
                        str(src)], check=True, capture_output=True)
        return src.with_suffix(".ptx").read_text()


def _entries(ptx: str) -> dict:
    """The PTX body of each kernel (``.entry``) and device function not inlined (``.func``), by name."""
    parts = re.split(r"\.(?:entry|func)\s+(?:\([^)]*\)\s*)?(\w+)\(", ptx)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.skipif(_nvrtc() is None and shutil.which("nvcc") is None,
                    reason="needs CuPy's NVRTC (pip install 'dsnn[gpu]') or nvcc")
def test_kernels_compile_without_fused_multiply_add():
    """The CUDA source compiles (no device needed) into every kernel, and with the options dsnn uses no
    float64 multiply-add is fused, which would change results against the CPU: kernels fuse only where they
    call glibc_exp or glibc_pow, which fuse where glibc does (fma()); without the option the compiler fuses
    in the others too."""
    entries = _entries(_ptx(gpu.COMPILE_OPTIONS))
    kernels = [m.CUDA_KERNEL for m in NEURON_MODELS.values() if m.CUDA_KERNEL]
    assert set(kernels + ["deliver_groups", "poisson_input", "current_input", "glibc_math_values"]) <= set(entries)
    sources = {m.CUDA_KERNEL: m.CUDA_SOURCE for m in NEURON_MODELS.values() if m.CUDA_KERNEL}
    plastic = re.findall(r"__global__ void (\w+)", plasticity.CUDA_SOURCE)
    sources.update({name: plasticity.CUDA_SOURCE for name in plastic})
    # CUDA's own functions (glibc_pow falls back on its pow) and glibc_* fuse as they are written to
    plain = [name for name in entries
             if "glibc_" not in sources.get(name, "") and not name.startswith(("glibc_", "__"))]
    assert "iaf_psc_exp_update" in plain and "deliver_groups" in plain
    for name in plain:
        assert "fma.rn.f64" not in entries[name], name
    assert any("fma.rn.f64" in entries[name] for name in entries if name.startswith("glibc_"))
    fused = _entries(_ptx([o for o in gpu.COMPILE_OPTIONS if not o.startswith("--fmad")]))
    assert any("fma.rn.f64" in fused[name] for name in plain)


def _ucx_available():
    import importlib.util

    return importlib.util.find_spec("distributed_ucxx") is not None


def _run_mixed(sim, sr, vm):
    sim.run(100.0)
    sim.run(100.0)
    return sim.spikes(sr), sim.voltages(vm)


@needs_gpu
@pytest.mark.gpu
@pytest.mark.timeout(300)
@pytest.mark.parametrize("protocol", ["tcp", "ucx"])
def test_gpu_partitions_in_worker_processes(protocol):
    """Two worker processes, each holding its partition in GPU memory, match the in-process CPU run bit for
    bit in both exchange modes; over ucx every spike message leaves GPU memory as it is (GPU-direct)."""
    if protocol == "ucx" and not _ucx_available():
        pytest.skip("needs dsnn[ucx]")
    from distributed import Client, LocalCluster

    net, sr, vm = mixed_network("iaf_psc_alpha")
    reference = _run_mixed(net.build(partitions=2, device="cpu"), sr, vm)
    assert len(reference[0]) > 100
    with LocalCluster(n_workers=2, threads_per_worker=1, protocol=protocol, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for exchange in ("p2p", "collective"):
            net, sr, vm = mixed_network("iaf_psc_alpha")
            sim = net.build(client, partitions=2, exchange=exchange, device="gpu")
            assert all(i["gpu"] for i in sim.info())
            spikes, voltages = _run_mixed(sim, sr, vm)
            assert spikes.equals(reference[0]) and voltages.equals(reference[1])
            counters = sim.counters()
            sent = sum(c["bytes_sent"] for c in counters)
            direct = sum(c["device_bytes_sent"] for c in counters)
            assert sent > 0
            # over tcp staged through host memory; over ucx every message's data from GPU memory (with 2
            # partitions the collective has one round of one block, so no block sizes travel from the host)
            assert direct == (0 if protocol == "tcp" else sent)
            sim.close()


@needs_gpu
@pytest.mark.gpu
@pytest.mark.timeout(300)
def test_local_cluster_puts_partitions_on_the_gpus():
    """dsnn.local_cluster makes a LocalCUDACluster (one worker per GPU) where GPUs exist, and build's
    device="auto" puts each partition on its worker's GPU."""
    pytest.importorskip("dask_cuda")
    n_gpus = int(gpu.cupy().cuda.runtime.getDeviceCount())
    net, sr, vm = mixed_network("iaf_psc_exp")
    reference = _run_mixed(net.build(partitions=n_gpus, device="cpu"), sr, vm)
    client = dsnn.local_cluster(dashboard=False)
    try:
        assert type(client.cluster).__name__ == "LocalCUDACluster"
        assert len(client.scheduler_info()["workers"]) == n_gpus
        net, sr, vm = mixed_network("iaf_psc_exp")
        sim = net.build(client, partitions=n_gpus, device="auto")
        assert all(i["gpu"] for i in sim.info())
        spikes, voltages = _run_mixed(sim, sr, vm)
        assert spikes.equals(reference[0]) and voltages.equals(reference[1])
        sim.close()
    finally:
        client.shutdown()


@needs_gpu
@pytest.mark.gpu
def test_ucx_channels_send_gpu_memory_as_it_is():
    """Channels opened with device=True over ucx: CuPy data of any size goes GPU-direct and arrives in GPU
    memory, with its extra (host) array; host data sent to such a channel arrives in GPU memory too."""
    if not _ucx_available():
        pytest.skip("needs dsnn[ucx]")
    import asyncio

    from distributed_ucxx.ucxx import init_once

    from dsnn.exchange.channels import Channels
    from dsnn.exchange.ucx import UCX_INLINE_WORDS

    init_once()  # start UCX as Dask would (see tests/exchange/test_channels.py)
    cp = gpu.cupy()

    async def scenario():
        a, b = Channels(0, timeout=5.0, device=True), Channels(1, timeout=5.0, device=True)
        addr = await b.listen("ucx://127.0.0.1:0")
        await a.listen("ucx://127.0.0.1:0")
        await a.connect({1: addr})
        await b.wait_accepted([0])
        assert a.device_buffers and b.device_buffers
        big = cp.arange(2 * (UCX_INLINE_WORDS + 5), dtype=cp.int64).reshape(2, -1)
        small = cp.arange(6, dtype=cp.int64).reshape(2, 3)
        sizes = np.array([3, 7], dtype=np.int64)
        messages = [(1, big, sizes), (2, small, None), (3, cp.zeros((2, 0), dtype=cp.int64), sizes),
                    (4, np.arange(5, dtype=np.int64), None)]
        for k, data, extra in messages:
            await a.exchange_async(k, {1: (0, data, extra)}, {})
        for k, data, extra in messages:
            got, got_extra = (await b.exchange_async(k, {}, {0: 0}))[0]
            assert isinstance(got, cp.ndarray) and got.shape == data.shape
            assert cp.asnumpy(got).tolist() == (data.get() if isinstance(data, cp.ndarray) else data).tolist()
            assert (got_extra is None) == (extra is None)
            if extra is not None:
                assert got_extra.tolist() == extra.tolist()
        assert a.device_bytes_sent == big.nbytes + small.nbytes
        await a.close()
        await b.close()

    asyncio.run(scenario())
