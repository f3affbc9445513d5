"""The multi-area example (examples/multi_area.py): one area per partition, partition invariance,
point-to-point moving fewer bytes than collective exchange, rates against NEST, and the CLI's use of
the model file's placement and exchange."""

import json
import subprocess
import sys

import numpy as np
import pytest
from example_models import EXAMPLES, load

ma = load("multi_area")


def test_placement_puts_one_area_on_each_partition():
    net = ma.network(n_areas=3, scale=0.02)
    groups = ma.placement(net, 3)
    assert [{p.label.split("/")[0] for p in g} for g in groups] == [{"V1"}, {"V2"}, {"VP"}]
    assert all(len(g) == 8 for g in groups)
    assert [len(g) for g in ma.placement(net, 2)] == [16, 8]  # fewer partitions: areas dealt out in order
    with pytest.raises(ValueError, match="partitions must be in 1..3"):
        ma.placement(net, 4)


def test_inter_area_delays_grow_with_distance():
    net = ma.network(n_areas=3, scale=0.02)
    sim = net.build()
    conns = sim.connections()
    first = {p.label: p.first for p in net.populations if p.label}
    v1 = (conns["source"] >= first["V1/L23E"]) & (conns["source"] < first["V2/L23E"])
    to_v2 = (conns["target"] >= first["V2/L23E"]) & (conns["target"] < first["VP/L23E"])
    to_vp = conns["target"] >= first["VP/L23E"]
    near, far = conns[v1 & to_v2]["delay"].mean(), conns[v1 & to_vp]["delay"].mean()
    # means of normal(d/v, 0.5 d/v) redrawn to >= 0.1 ms: within 5% of d/v for these distances
    assert near == pytest.approx(ma.DISTANCE_MM / ma.SPEED, rel=0.05)
    assert far == pytest.approx(2 * ma.DISTANCE_MM / ma.SPEED, rel=0.05)


def test_spikes_do_not_depend_on_partitions():
    runs = []
    for layout in (1, "areas"):
        net = ma.network(n_areas=3, scale=0.02, t_presim=0.0)
        sim = net.build(partitions=ma.placement(net, 3) if layout == "areas" else 1, exchange="p2p")
        sim.run(200.0)
        runs.append(sim.spikes())
    assert len(runs[0]) > 300
    assert runs[1].equals(runs[0])


#: per population, the seed-to-seed standard deviation (spikes/s) of the rate over 1 s after 300 ms, 2 areas at
#: scale 0.05, pooled over dsnn and NEST, 10 seeds each: benchmarks/seed_spread.py, written to
#: benchmarks/results/seed-spread-2026-11-30.json
SEED_SD = {"V1/L23E": 0.022, "V1/L23I": 0.064, "V1/L4E": 0.078, "V1/L4I": 0.056, "V1/L5E": 0.292, "V1/L5I": 0.109,
           "V1/L6E": 0.039, "V1/L6I": 0.088, "V2/L23E": 0.028, "V2/L23I": 0.083, "V2/L4E": 0.058, "V2/L4I": 0.039,
           "V2/L5E": 0.313, "V2/L5I": 0.156, "V2/L6E": 0.037, "V2/L6I": 0.075}


@pytest.mark.nest
def test_rates_agree_with_nest(nest):
    """2 areas at scale 0.05, 1 s after 300 ms, seeds 55 and 1 in each simulator: per population the two
    means differ by less than 4 SEED_SD (their difference has a standard deviation of SEED_SD: a correct
    simulator fails one of the 16 populations with probability 1e-3; a bias of 4 SEED_SD is caught)."""
    from dsnn.views.validation import population_statistics

    T, t0, params = 1300.0, 300.0, {"n_areas": 2, "scale": 0.05, "t_presim": 300.0}
    d, n = [], []
    for seed in (55, 1):
        net = ma.network(seed=seed, **params)
        sim = net.build(partitions=ma.placement(net, 2), exchange="p2p")
        sim.run(T)
        spikes = sim.spikes()
        pops = {p.label: (p.first, p.n) for p in net.populations if p.spec.kind == "neuron"}
        stats = population_statistics(spikes["sender"], spikes["time"], pops, t0, T)
        labels = list(stats.index)
        d.append(stats["rate"].to_numpy())
        sr, nodes = ma.nest_network(nest, seed=seed, **params)
        nest.Simulate(T)
        pops = {label: (pop[0].global_id, len(pop)) for label, pop in nodes.items()}
        nest_stats = population_statistics(sr.events["senders"], sr.events["times"], pops, t0, T)
        assert list(nest_stats.index) == labels
        n.append(nest_stats["rate"].to_numpy())
    d, n = np.array(d), np.array(n)
    tolerance = 4 * np.array([SEED_SD[label] for label in labels])
    difference = np.abs(d.mean(axis=0) - n.mean(axis=0))
    assert np.all(difference <= tolerance), dict(zip(labels, np.round(difference / tolerance, 2)))
    assert (n.mean(axis=0) > 0).all()


def test_cli_takes_placement_and_exchange_from_the_model_file(tmp_path):
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "dsnn", "run", str(EXAMPLES / "multi_area.py"), "--in-process",
                    "--partitions", "2", "--time", "100", "--param", "scale=0.02", "--param", "n_areas=2",
                    "--param", "t_presim=0.0", "--no-plots", "--out", str(out)], check=True, capture_output=True)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exchange"] == "p2p" and summary["partitions"] == 2
    assert set(summary["rates"]) == {f"{a}/{p}" for a in ("V1", "V2") for p in ma.mc.POPULATIONS}


@pytest.mark.timeout(300)
def test_point_to_point_moves_fewer_bytes_on_a_cluster():
    """4 areas on 4 worker processes: both exchanges give the in-process spikes, and point-to-point sends
    less than half the collective's bytes (read from the channels' counters): an area needs only the
    spikes of the neurons that project to it."""
    import distributed

    net = ma.network(n_areas=4, scale=0.02, t_presim=0.0)
    sim = net.build()
    sim.run(100.0)
    reference = sim.spikes()
    moved = {}
    with distributed.LocalCluster(n_workers=4, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        for exchange in ("p2p", "collective"):
            net = ma.network(n_areas=4, scale=0.02, t_presim=0.0)
            sim = net.build(client, partitions=ma.placement(net, 4), exchange=exchange)
            sim.run(100.0)
            assert sim.spikes().equals(reference)
            moved[exchange] = sim.exchanged_bytes()
            sim.close()
    assert len(reference) > 100
    assert 0 < moved["p2p"] < moved["collective"] / 2, moved
