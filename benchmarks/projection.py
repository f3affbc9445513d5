"""The cost model's projection to 128–1,024 GPUs, beside the NEST GPU study's figures.

Pure functions of the fitted constants (:func:`benchmarks.cost_model.fit`)
and of the GPU assumptions (:func:`gpu_assumptions`); times in seconds,
rates in spikes/s. What is assumed, and why, is written out in
``benchmarks/RESULTS.md``, section "The scaling benchmark and its cost
model"::

    import json
    from benchmarks.cost_model import fit
    from benchmarks.projection import gpu_assumptions, project_hpc, projection
    c = fit(json.load(open("benchmarks/results/scaling-2026-11-30.json")))
    gpu = gpu_assumptions(c)
    project_hpc(1024, c, gpu, rate_hz=7.5)      # {"construction_s": ..., "rtf": ..., and their parts}

Nothing here imports dsnn or starts anything.
"""

from __future__ import annotations

import dataclasses
import math

from .cost_model import (
    BYTES_PER_SPIKE,
    HEADER_BYTES,
    construction_tasks,
    messages_per_interval,
)

#: the H100 figures of benchmarks/RESULTS.md the GPU constants are derived from
H100_BRUNEL = {"s_per_s": 0.18, "neurons": 12_500, "synapses": 15_625_000, "rate_hz": 38.41, "populations": 2,
               "interval_ms": 1.5, "dt_ms": 0.1}
H100_MICROCIRCUIT = {"s_per_s": 3.87, "interval_ms": 0.1, "populations": 8}  # scale 0.1: latency-bound

#: the study's figures (shared/REFERENCES.md): GPUs -> (construction s, RTF); None: interpolated
STUDY_HPC = {128: (1.5, 9.2), 256: None, 512: None, 1024: (2.6, 56.6)}
STUDY_MAM = {8: (98.9, 27.2), 16: (74.8, 19.0), 24: (68.7, 15.9), 32: (65.5, 14.6)}
STUDY_MAM_METASTABLE_32 = (55.5, 14.5)

HPC_NEURONS_PER_GPU = 112_500  # 11,250 x s, s = 10
HPC_INDEGREE = 11_250
HPC_INTERVAL_MS = 1.5
HPC_EXCHANGE = "collective"  # examples/hpc_benchmark.py's EXCHANGE
MAM_NEURONS = 4.13e6
MAM_SYNAPSES = 24.2e9
MAM_AREAS = 32
MAM_INTERVAL_MS = 0.1
MAM_EXCHANGE = "p2p"  # examples/multi_area.py's EXCHANGE
#: full-scale microcircuit: sum(N_i r_i) / sum(N_i) over REFERENCES.md's table (spikes/s)
MAM_RATE_HZ = 3.25
#: share of a microcircuit's neurons in the populations that project to other areas (L23E + L5E + L6E)
MAM_SOURCE_FRACTION = (20_683 + 4_850 + 14_395) / 77_169
MAM_SOURCE_POPULATIONS = ("L23E", "L5E", "L6E")

#: the assumptions, one line each (printed with the projection and stored in the JSON)
ASSUMPTIONS = [
    ("interval = ov(P)·(kappa·max_p compute_p·(1 + beta) + alpha·messages) + bytes/bandwidth at P > 1; "
     "ov = max(1, P/cores) (oversubscribed processes share the cores evenly)"),
    ("compute_p = c_neuron·U + c_pop·populations·I + c_syn·events + c_rx·received + c_proj·projections·D "
     "(D: intervals with spikes to deliver), fitted on P = 1 and in-process runs"),
    "events: spikes of each source population / its size × its synapses onto the partition (uniform sources)",
    "alpha: the probe's exchange+wait per message at P = 2 (not oversubscribed); loopback bandwidth 1 GB/s assumed",
    ("construction = k0 + k_task·tasks + ov·(k_syn·synapses + k_img·images + k_proj·projections) of the busiest "
     "partition, ov = max(1, P/cores); tasks = 6P + 2 (build and actor tasks, two scattered keys, four calls "
     "per actor)"),
    ("GPU: CPU compute constants × g (g from H100 Brunel 0.18 s/s), 48.4 µs per population and interval (H100 "
     "microcircuit), per message 2 µs network + dsnn's fitted software cost alpha, 25 GB/s, build factor 1 "
     "(dsnn builds on the host CPU) with the calibration run's cost per synapse, kappa = 1, beta = 0 (dedicated "
     "GPUs; --gpu-imbalance)"),
    ("hpc rate: the calibration run's after 100 ms (else the largest weak point's); multi-area rate 3.25 spikes/s "
     "(full-scale microcircuit mean)"),
    ("no growth of imbalance with P, no memory limits, no per-run cost of the client's calls (it polls every "
     "50 ms: ~0.1 s a run); the study used A100s, g comes from an H100"),
]


@dataclasses.dataclass(frozen=True)
class GPU:
    """GPU-side constants of the projection (seconds and bytes); see RESULTS.md."""

    s_per_event: float
    s_per_neuron_step: float
    s_per_received_spike: float
    s_per_population_interval: float
    latency_s: float = 2e-6
    bandwidth_Bps: float = 25e9
    build_factor: float = 1.0
    sw_s_per_message: dict = dataclasses.field(default_factory=dict)  # mode -> s
    imbalance: float = 0.0  # beta on the GPUs: extra waiting as a share of the busiest GPU's compute
    s_per_synapse_built: float | None = None  # replaces the fitted k_syn (e.g. from the calibration run)


def gpu_overhead_per_population_interval() -> float:
    """Seconds per population and interval on the H100: the latency-bound microcircuit's time per interval
    over its populations."""
    mc = H100_MICROCIRCUIT
    return mc["s_per_s"] / (1000.0 / mc["interval_ms"]) / mc["populations"]


def gpu_speedup(c: dict) -> float:
    """g: the factor on the CPU constants (events, neuron updates) that gives the H100's Brunel time after
    its per-population overhead."""
    b = H100_BRUNEL
    events = b["rate_hz"] * b["synapses"]  # per simulated second
    overhead = gpu_overhead_per_population_interval() * b["populations"] * 1000.0 / b["interval_ms"]
    cpu = max(c["c_syn_s"], 0.0) * events + max(c["c_neuron_s"], 0.0) * b["neurons"] * 1000.0 / b["dt_ms"]
    if not (cpu > 0 and c["c_syn_s"] > 0):
        raise ValueError("gpu_assumptions: the fitted c_syn and c_neuron give no compute to scale (both 0?)")
    return (b["s_per_s"] - overhead) / cpu


def gpu_assumptions(c: dict, ns_per_event: float | None = None, latency_us: float = 2.0,
                    bandwidth_gbs: float = 25.0, build_factor: float = 1.0,
                    sw_us_per_message: float | None = None, imbalance: float = 0.0,
                    s_per_synapse_built: float | None = None) -> GPU:
    """GPU constants from the fitted CPU constants ``c`` and the H100 figures.

    g (the GPU's speed-up on events, neuron updates and received spikes,
    :func:`gpu_speedup`) makes the model give the H100's Brunel time;
    ``ns_per_event`` fixes g·c_syn instead. ``latency_us`` (µs per message,
    the network), ``bandwidth_gbs`` (GB/s), ``sw_us_per_message`` (µs,
    replaces the fitted per-message software cost alpha),
    ``s_per_synapse_built`` (s, replaces the fitted k_syn).
    """
    g = gpu_speedup(c) if ns_per_event is None else ns_per_event * 1e-9 / c["c_syn_s"]
    sw = {m: (c[f"alpha_{m}_s"] if sw_us_per_message is None else sw_us_per_message * 1e-6)
          for m in ("collective", "p2p")}
    return GPU(s_per_event=g * max(c["c_syn_s"], 0.0), s_per_neuron_step=g * max(c["c_neuron_s"], 0.0),
               s_per_received_spike=g * max(c["c_rx_s"], 0.0),
               s_per_population_interval=gpu_overhead_per_population_interval(), latency_s=latency_us * 1e-6,
               bandwidth_Bps=bandwidth_gbs * 1e9, build_factor=build_factor, sw_s_per_message=sw,
               imbalance=imbalance, s_per_synapse_built=s_per_synapse_built)


def project_construction(c: dict, gpu: GPU, exchange: str, P: int, synapses: float, images: float,
                         projections: float) -> dict:
    """Construction seconds on P GPUs for the busiest GPU's synapses, images and projections: the fixed and
    task part (every pair of GPUs needing each other), and the per-synapse, per-image and per-projection
    parts (× the build factor)."""
    fixed = c["k0_s"] + c["k_task_s"] * construction_tasks(exchange, P, P * (P - 1))
    k_syn = c["k_syn_s"] if gpu.s_per_synapse_built is None else gpu.s_per_synapse_built
    parts = {"construction_synapses_s": k_syn * synapses, "construction_images_s": c["k_img_s"] * images,
             "construction_projections_s": c["k_proj_s"] * projections}
    parts = {k: gpu.build_factor * v for k, v in parts.items()}
    return {"construction_s": fixed + sum(parts.values()), "construction_tasks_s": fixed, **parts}


def project_interval(gpu: GPU, mode: str, interval_ms: float, events: float, neuron_steps: float,
                     received: float, populations: float, messages: float) -> dict:
    """Milliseconds per interval on the busiest GPU (compute, messages, bytes) and the RTF they give (with
    the software cost per message, and with the network's latency alone)."""
    compute = (1.0 + gpu.imbalance) * (gpu.s_per_event * events + gpu.s_per_neuron_step * neuron_steps
                                       + gpu.s_per_received_spike * received
                                       + gpu.s_per_population_interval * populations)
    msg = messages * (gpu.latency_s + gpu.sw_s_per_message[mode])
    msg_network = messages * gpu.latency_s
    bytes_s = (received * BYTES_PER_SPIKE + messages * HEADER_BYTES) / gpu.bandwidth_Bps
    total = compute + msg + bytes_s
    return {"compute_ms": compute * 1e3, "messages_ms": msg * 1e3, "bytes_ms": bytes_s * 1e3,
            "rtf": total / (interval_ms * 1e-3),
            "rtf_network_latency_only": (compute + msg_network + bytes_s) / (interval_ms * 1e-3)}


def hpc_images(P: int, neurons_per_gpu: float, indegree: float) -> float:
    """Expected distinct remote sources of one GPU's neurons: (N − n)·(1 − exp(−n·K/N))."""
    if P <= 1:
        return 0.0
    n, N = float(neurons_per_gpu), float(neurons_per_gpu) * P
    return (N - n) * (1.0 - math.exp(-n * indegree / N))


def project_hpc(P: int, c: dict, gpu: GPU, rate_hz: float, neurons_per_gpu: int = HPC_NEURONS_PER_GPU,
                indegree: int = HPC_INDEGREE, interval_ms: float = HPC_INTERVAL_MS) -> dict:
    """hpc_benchmark weak scaling on P GPUs (collective exchange): construction seconds and RTF."""
    n, N = float(neurons_per_gpu), float(neurons_per_gpu) * P
    synapses = n * indegree
    per_int = rate_hz * interval_ms * 1e-3  # spikes per neuron and interval
    out = {"gpus": P, "neurons": N, "synapses": synapses * P}
    out.update(project_construction(c, gpu, HPC_EXCHANGE, P, synapses, hpc_images(P, n, indegree), projections=4))
    out.update(project_interval(gpu, HPC_EXCHANGE, interval_ms, events=synapses * per_int,
                                neuron_steps=n * interval_ms / 0.1, received=(N - n) * per_int, populations=2,
                                messages=messages_per_interval(HPC_EXCHANGE, P)))
    return out


def project_multi_area(P: int, c: dict, gpu: GPU, rate_hz: float = MAM_RATE_HZ, neurons: float = MAM_NEURONS,
                       synapses: float = MAM_SYNAPSES, areas: int = MAM_AREAS,
                       interval_ms: float = MAM_INTERVAL_MS, source_fraction: float = MAM_SOURCE_FRACTION) -> dict:
    """The multi-area model on P GPUs (p2p exchange, ceil(areas/P) areas on the busiest): construction, RTF."""
    k = math.ceil(areas / P)
    n, syn = neurons / areas * k, synapses / areas * k
    images = source_fraction * (neurons - n)
    per_int = rate_hz * interval_ms * 1e-3
    out = {"gpus": P, "areas_per_gpu": k, "neurons": neurons, "synapses": synapses}
    projections = k * (8 * 8 + 8 * len(MAM_SOURCE_POPULATIONS) * (areas - 1))  # local, cortico-cortical
    out.update(project_construction(c, gpu, MAM_EXCHANGE, P, syn, images, projections))
    out.update(project_interval(gpu, MAM_EXCHANGE, interval_ms, events=syn * per_int,
                                neuron_steps=n * interval_ms / 0.1, received=images * per_int, populations=8 * k,
                                messages=messages_per_interval(MAM_EXCHANGE, P)))
    return out


def study_hpc(P: int) -> tuple:
    """The study's (construction s, RTF) for hpc_benchmark s = 10 on P GPUs, log-linear in P between the
    published ends where not published; (figures, interpolated?)."""
    if STUDY_HPC.get(P):
        return STUDY_HPC[P], False
    (c0, r0), (c1, r1) = STUDY_HPC[128], STUDY_HPC[1024]
    x = math.log2(P / 128) / 3.0
    return (c0 + x * (c1 - c0), r0 * (r1 / r0) ** x), True


def projection(c: dict, gpu: GPU, hpc_rate_hz: float, mam_rate_hz: float = MAM_RATE_HZ) -> dict:
    """Projected figures beside the study's for both models."""
    hpc = []
    for P in STUDY_HPC:
        (sc, sr), interp = study_hpc(P)
        hpc.append(dict(project_hpc(P, c, gpu, hpc_rate_hz), study_construction_s=sc, study_rtf=sr,
                        study_interpolated=interp))
    mam = [dict(project_multi_area(P, c, gpu, mam_rate_hz), study_construction_s=sc, study_rtf=sr,
                study_interpolated=False) for P, (sc, sr) in STUDY_MAM.items()]
    sc, sr = STUDY_MAM_METASTABLE_32
    mam.append(dict(project_multi_area(32, c, gpu, mam_rate_hz), study_construction_s=sc, study_rtf=sr,
                    study_interpolated=False, label="32 metastable"))
    return {"hpc_benchmark": hpc, "multi_area": mam, "gpu": dataclasses.asdict(gpu),
            "hpc_rate_hz": hpc_rate_hz, "mam_rate_hz": mam_rate_hz}


# ============================================================================ printing

def _ratio(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def print_gpu(g: dict) -> None:
    """The GPU constants of a projection, in one paragraph."""
    print("\nGPU assumptions: "
          f"{g['s_per_event'] * 1e9:.3g} ns/event, {g['s_per_neuron_step'] * 1e9:.3g} ns/neuron update, "
          f"{g['s_per_received_spike'] * 1e9:.3g} ns/received spike (CPU constants × g, g from the H100 Brunel "
          f"figure), {g['s_per_population_interval'] * 1e6:.1f} µs per population and interval (H100 "
          f"microcircuit), network {g['latency_s'] * 1e6:.1f} µs + dsnn "
          f"{g['sw_s_per_message']['collective'] * 1e6:.0f} µs (collective) / "
          f"{g['sw_s_per_message']['p2p'] * 1e6:.0f} µs (p2p) per message, {g['bandwidth_Bps'] / 1e9:.0f} GB/s, "
          f"build factor {g['build_factor']:g}" + (
              f", {g['s_per_synapse_built'] * 1e9:.1f} ns per synapse built (the calibration run's build time / "
              "its synapses, one GPU's share on one core, instead of k_syn)" if g["s_per_synapse_built"] else ""))


#: columns of the projection tables: (title, width)
COLUMNS = [("GPUs", 14), ("constr study", 13), ("proj", 10), ("ratio", 9), ("RTF study", 10), ("proj", 9),
           ("ratio", 8), ("net-only", 9), ("compute", 9), ("msgs", 8), ("bytes", 8), ("k0+tasks s", 11),
           ("syn s", 9), ("img s", 9), ("proj s", 9)]


def projection_cells(r: dict) -> list:
    """One row of a projection table, as strings (~: the study's figure interpolated)."""
    mark = "~" if r["study_interpolated"] else ""
    cells = [r.get("label", str(r["gpus"])), mark + format(r["study_construction_s"], ".1f"),
             format(r["construction_s"], ",.1f"), _ratio(r["construction_s"] / r["study_construction_s"]),
             mark + format(r["study_rtf"], ".1f"), format(r["rtf"], ".2f"), _ratio(r["rtf"] / r["study_rtf"]),
             format(r["rtf_network_latency_only"], ".2f")]
    cells += [format(r[k], ".3f") for k in ("compute_ms", "messages_ms", "bytes_ms")]
    cells += [format(r[k], ",.1f") for k in ("construction_tasks_s", "construction_synapses_s",
                                            "construction_images_s", "construction_projections_s")]
    return cells


def print_projection(proj: dict) -> None:
    """The GPU constants and both models' projections beside the study's figures."""
    print_gpu(proj["gpu"])
    head = "".join(f"{name:>{w}s}" for name, w in COLUMNS)
    titles = {"hpc_benchmark": "hpc_benchmark weak scaling, 112,500 neurons and in-degree 11,250 per GPU, collective",
              "multi_area": "multi-area model (32 areas, 4.13 M neurons, 24.2e9 synapses), p2p"}
    rates = {"hpc_benchmark": (proj["hpc_rate_hz"], f" ({proj.get('hpc_rate_source', '')})"),
             "multi_area": (proj["mam_rate_hz"], " (full-scale microcircuit mean)")}
    for name, title in titles.items():
        rate, source = rates[name]
        print(f"\nProjection: {title}, {rate:.2f} spikes/s{source} (per interval: ms on the busiest GPU; "
              "~: the study's figure interpolated; net-only: RTF with the network latency alone per message)")
        if name == "hpc_benchmark" and "calibration" in proj:
            k = proj["calibration"]
            print(f"  measured here, one CPU core, {k['neurons']:,d} neurons and {k['synapses']:,d} synapses (one "
                  f"GPU's share): construction {k['construction_s']:.1f} s, RTF {k['rtf']:.1f}")
        print(head)
        for r in proj[name]:
            print("".join(f"{cell:>{w}s}" for cell, (_, w) in zip(projection_cells(r), COLUMNS)))
