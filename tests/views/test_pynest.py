"""``dsnn.nest``: NEST's own example scripts run with only ``import nest`` changed, against NEST running
them; and the PyNEST calls they rely on, against NEST's answers."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dsnn.nest as dnest
from dsnn.views.pynest.kernel import NestError

DRIVER = Path(__file__).with_name("nest_script.py")


@pytest.fixture(scope="module")
def gallery():
    """The folder of NEST's example scripts (shipped in the nest-simulator package)."""
    spec = importlib.util.find_spec("nest")
    if spec is None:
        pytest.skip("needs nest-simulator")
    return Path(spec.origin).parent / "doc" / "examples" / "pynest"


def _run(which, script, folder, *replacements, env=None) -> dict:
    out = folder / f"{which}.npz"
    done = subprocess.run([sys.executable, str(DRIVER), which, str(script), str(out), *replacements],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out) as saved:
        return {k: saved[k] for k in saved.files}


@pytest.mark.nest
@pytest.mark.parametrize("script", ["one_neuron.py", "twoneurons.py", "testiaf.py"])
def test_single_neuron_gallery_scripts_record_what_nest_records(gallery, tmp_path, script):
    """Identical spike times and sample times, V_m within 1e-6 mV (the voltmeter's samples of the last
    min-delay slice held back, as NEST hands them over one slice late)."""
    (tmp_path / "nest").mkdir()
    (tmp_path / "dsnn").mkdir()
    theirs = _run("nest", gallery / script, tmp_path / "nest")
    ours = _run("dsnn", gallery / script, tmp_path / "dsnn")
    recorded = [k for k in theirs if not k.startswith("var.")]
    assert recorded and sorted(recorded) == sorted(k for k in ours if not k.startswith(("var.", "dsnn.")))
    for key in recorded:
        if key.endswith(".V_m"):
            np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


@pytest.mark.nest
@pytest.mark.parametrize("script", ["brunel_alpha_nest.py", "brunel_delta_nest.py"])
def test_brunel_gallery_scripts(gallery, tmp_path, script):
    """brunel_alpha_nest.py and brunel_delta_nest.py at a fifth of their size: the same synapse counts
    (num_connections of the copied synapse models), rates within 5 % of NEST's, and the ascii files
    NEST's backend writes."""
    shrink = ("order = 2500=>order = 500", "simtime = 1000.0=>simtime = 500.0")
    runs = {}
    for which in ("nest", "dsnn"):
        (tmp_path / which).mkdir()
        runs[which] = _run(which, gallery / script, tmp_path / which, *shrink)
    theirs, ours = runs["nest"], runs["dsnn"]
    for key in ("var.num_synapses_ex", "var.num_synapses_in", "var.N_neurons"):
        assert int(ours[key]) == int(theirs[key]), key
    for key in ("var.rate_ex", "var.rate_in"):
        assert abs(float(ours[key]) / float(theirs[key]) - 1) < 0.05, (key, ours[key], theirs[key])
    files = sorted(p.name for p in (tmp_path / "dsnn").glob("*.dat"))
    assert files == sorted(p.name for p in (tmp_path / "nest").glob("*.dat")) and len(files) == 2
    ex = (tmp_path / "dsnn" / files[0]).read_text().splitlines()
    assert ex[2] == "sender\ttime_ms" and len(ex) - 3 == int(ours["espikes.n_events"])


@pytest.mark.nest
def test_noise_driven_gallery_scripts(gallery, tmp_path):
    """one_neuron_with_noise.py (two generators given rates as a list and weights as an array; run 20 s)
    keeps NEST's V_m mean within 0.5 mV and spread within 5 %; balancedneuron.py (Simulate again and
    again, a generator's rate and n_events set between runs; runs of 10 s) finds NEST's balancing rate
    within 0.3 spikes/s."""
    runs = {}
    for script, reps in (("one_neuron_with_noise.py", ("nest.Simulate(1000.0)=>nest.Simulate(20000.0)",)),
                         ("balancedneuron.py", ("t_sim = 25000.0=>t_sim = 10000.0",))):
        for which in ("nest", "dsnn"):
            folder = tmp_path / f"{script}-{which}"
            folder.mkdir()
            runs[script, which] = _run(which, gallery / script, folder, *reps)
    v = {w: runs["one_neuron_with_noise.py", w]["voltmeter.V_m"] for w in ("nest", "dsnn")}
    assert v["dsnn"].size == v["nest"].size > 19_000
    assert abs(v["dsnn"].mean() - v["nest"].mean()) < 0.5
    assert abs(v["dsnn"].std() / v["nest"].std() - 1) < 0.05
    rates = {w: float(runs["balancedneuron.py", w]["var.in_rate"]) for w in ("nest", "dsnn")}
    assert abs(rates["dsnn"] - rates["nest"]) < 0.3, rates


@pytest.mark.nest
def test_an_unchanged_script_runs_on_the_cluster_the_environment_names(gallery, tmp_path):
    """DSNN_NEST_SCHEDULER=<address>: twoneurons.py, unchanged, builds and runs on that cluster's workers
    and records what NEST records."""
    import os

    import distributed

    (tmp_path / "nest").mkdir()
    (tmp_path / "dsnn").mkdir()
    theirs = _run("nest", gallery / "twoneurons.py", tmp_path / "nest")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        env = {**os.environ, "DSNN_NEST_SCHEDULER": cluster.scheduler_address}
        ours = _run("dsnn", gallery / "twoneurons.py", tmp_path / "dsnn", env=env)
    assert int(ours["dsnn.workers"]) == 2  # one partition per worker of that cluster
    np.testing.assert_array_equal(ours["voltmeter.times"], theirs["voltmeter.times"])
    np.testing.assert_allclose(ours["voltmeter.V_m"], theirs["voltmeter.V_m"], rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------- the API against NEST's
@pytest.fixture
def both(nest):
    """NEST and dsnn.nest, each reset."""
    nest.ResetKernel()
    dnest.ResetKernel()
    return nest, dnest


def _make(sim):
    a = sim.Create("iaf_psc_alpha", 4, params={"I_e": 380.0})
    b = sim.Create("iaf_psc_exp", 3)
    sr = sim.Create("spike_recorder")
    return a, b, sr


def test_node_collections_answer_as_nests(both):
    answers = []
    for sim in both:
        a, b, sr = _make(sim)
        both_ = b + a
        a[1:3].set(I_e=400.0)
        b.set({"tau_m": [11.0, 12.0, 13.0]})
        answers.append((
            both_.tolist(), len(both_), a.global_id, a[2].global_id, (a + b)[::2].tolist(),
            a.get("I_e"), a[0].get("I_e"), b.get(["tau_m", "C_m"]), b[1].tau_m, a[1:3].I_e,
            [n.global_id for n in b], sr.get("n_events"), sr.n_events,
            sim.GetStatus(a[0:2], "I_e"), sim.GetStatus(b, ["tau_m"]),
            sim.GetDefaults("iaf_psc_exp", "tau_m"), sim.GetDefaults("iaf_psc_alpha", ["C_m", "tau_m"]),
        ))
    assert answers[1] == answers[0]


def test_kernel_attributes_and_defaults_answer_as_nests(both):
    answers = []
    for sim in both:
        sim.resolution = 0.2
        sim.set(rng_seed=12)
        sim.SetKernelStatus({"overwrite_files": True})
        sim.CopyModel("static_synapse", "exc", {"weight": 2.5, "delay": 1.4})
        sim.SetDefaults("exc", {"weight": 3.0})
        sim.CopyModel("iaf_psc_exp", "slow", {"tau_m": 30.0})
        n = sim.Create("slow", 5)
        sim.Connect(n, n, "one_to_one", "exc")
        sim.Connect(n, n, {"rule": "all_to_all", "allow_autapses": False}, syn_spec={"weight": -1.0})
        sim.Connect(n[0:2], n, {"rule": "fixed_indegree", "indegree": 2}, "exc")
        answers.append((sim.resolution, sim.rng_seed, sim.GetKernelStatus("resolution"), sim.get("rng_seed"),
                        n.tau_m, sim.GetDefaults("exc", "weight"), sim.GetDefaults("exc", "delay"),
                        sim.GetDefaults("exc")["num_connections"], sim.GetDefaults("static_synapse",
                                                                                  "num_connections"),
                        sim.overwrite_files))
    assert answers[1] == answers[0]


def test_get_connections_lists_nests_connections(both):
    """Deterministic rules: the same (source, target, weight, delay), filtered as NEST filters them."""
    got = []
    for sim in both:
        a, b, sr = _make(sim)
        sim.Connect(a, b, {"rule": "all_to_all"}, {"weight": 5.0, "delay": 2.0})
        sim.Connect(b, a[1:4], "one_to_one", {"weight": -3.0, "delay": 1.5})
        conns = sim.GetConnections(source=b)
        sub = sim.GetConnections(a[0:2], b[1:3])
        got.append((sorted(zip(conns.get("source"), conns.get("target"), conns.get("weight"),
                               conns.get("delay"))),
                    sorted(zip(sub.source, sub.target)), len(sim.GetConnections(a, b))))
    assert got[1] == got[0]


def test_simulate_again_goes_on_and_n_events_zero_clears(both):
    """Two Simulate calls continue one run (the spikes of one long run); n_events = 0 empties a
    recorder, which then records on."""
    got = []
    for sim in both:
        a, _, sr = _make(sim)
        sim.Connect(a, sr)
        sim.Simulate(60.0)
        first = sr.n_events
        sr.n_events = 0
        sim.Simulate(60.0)
        got.append((first, sr.n_events, list(sr.events["times"]), sim.biological_time))
    assert got[1] == got[0] and got[0][0] > 0


def test_what_dsnn_lacks_fails_in_one_line_naming_it():
    dnest.ResetKernel()
    for call, name in [
        (lambda: dnest.Create("hh_psc_alpha"), "hh_psc_alpha"),
        (lambda: dnest.Create("iaf_psc_alpha", params={"tau_minus_triplet": 110.0}), "tau_minus_triplet"),
        (lambda: dnest.Connect(dnest.Create("iaf_psc_exp"), dnest.Create("iaf_psc_exp"),
                               syn_spec={"synapse_model": "quantal_stp_synapse"}), "quantal_stp_synapse"),
        (lambda: setattr(dnest, "sort_connections_by_source", True), "sort_connections_by_source"),
        (lambda: dnest.spatial, "nest.spatial"),
        (lambda: dnest.math.exp, "nest.math.exp"),
        (lambda: dnest.math.max(dnest.math.redraw(dnest.random.normal(), min=-1.0), 0.0), "nest.math.min/max"),
    ]:
        with pytest.raises(NestError) as info:
            call()
        text = str(info.value)
        assert name in text and "not supported by dsnn" in text and "\n" not in text, text


def test_changes_between_runs_take_effect_as_in_nest(both):
    """I_e, a dc_generator's amplitude and window, tau_m, V_th, then V_m and E_L changed between Simulate
    calls, and V_m read between them: the same spike times and V_m as NEST (the state and the input in
    flight carried over)."""
    got = []
    for sim in both:
        n = sim.Create("iaf_psc_alpha", 2, params={"I_e": 376.0})
        dc = sim.Create("dc_generator", params={"amplitude": 30.0})
        vm = sim.Create("voltmeter", params={"interval": 0.5})
        sr = sim.Create("spike_recorder")
        sim.Connect(dc, n[1], syn_spec={"delay": 2.0})
        sim.Connect(vm, n)
        sim.Connect(n, sr)
        sim.Simulate(80.0)
        n[0].I_e = 450.0
        dc.amplitude = -80.0
        sim.Simulate(60.0)
        n.set(tau_m=14.0, V_th=-52.0)
        dc.set(start=170.0, stop=200.0)
        sim.Simulate(100.0)
        now = n.get("V_m")
        n[1].V_m = -58.0  # state: set now
        n[0].E_L = -66.0  # V_m kept, threshold and reset too (absolute), the rest relative to the new E_L
        sim.Simulate(50.0)
        got.append((sr.events["times"], sr.events["senders"], vm.events["times"], vm.events["V_m"], now,
                    n.get("V_m")))
    (t1, s1, vt1, v1, now1, end1), (t2, s2, vt2, v2, now2, end2) = got
    np.testing.assert_allclose(now2, now1, rtol=0, atol=1e-9)
    np.testing.assert_allclose(end2, end1, rtol=0, atol=1e-9)
    assert t1.size > 5
    np.testing.assert_array_equal(t2, t1)
    np.testing.assert_array_equal(s2, s1)
    np.testing.assert_array_equal(vt2, vt1)
    np.testing.assert_allclose(v2, v1, rtol=0, atol=1e-6)


def test_a_generator_rate_changed_between_runs_takes_effect():
    """A silent poisson_generator leaves V_m at E_L; given a rate after the first run, it drives."""
    dnest.ResetKernel()
    n = dnest.Create("iaf_psc_alpha")
    pg = dnest.Create("poisson_generator", params={"rate": 0.0})
    vm = dnest.Create("voltmeter")
    dnest.Connect(pg, n, syn_spec={"weight": 50.0})
    dnest.Connect(vm, n)
    dnest.Simulate(50.0)
    assert (vm.events["V_m"] == -70.0).all()
    pg.rate = 20000.0
    dnest.Simulate(50.0)
    late = vm.events["V_m"][vm.events["times"] > 55.0]
    assert late.size > 40 and late.max() > -65.0


def test_what_cannot_change_between_runs_is_refused():
    dnest.ResetKernel()
    n = dnest.Create("iaf_psc_exp", 2)
    vm = dnest.Create("voltmeter")
    dnest.Connect(vm, n)
    dnest.Simulate(10.0)
    for call, what in [(lambda: n.set(V_m=dnest.random.uniform(-70.0, -60.0)), "V_m"),
                       (lambda: vm.set(interval=2.0), "interval"), (lambda: dnest.Create("iaf_psc_exp"), "Create"),
                       (lambda: dnest.Connect(n, n), "Connect")]:
        with pytest.raises(NestError, match=f"{what}.*after Simulate"):
            call()
    assert vm.interval == 1.0  # nothing half-set
    with pytest.raises(NestError, match="before ResetKernel"):
        dnest.ResetKernel()
        n.get("I_e")


def test_bad_values_are_refused_where_they_are_given():
    dnest.ResetKernel()
    n = dnest.Create("iaf_psc_exp", 3)
    with pytest.raises(NestError, match="C_m"):
        n.set(C_m=-1.0)
    with pytest.raises(NestError, match="tau_m has 2 values for 3 nodes"):
        n.set(tau_m=[10.0, 11.0])
    with pytest.raises(NestError, match="indegree"):
        dnest.Connect(n, n, {"rule": "fixed_indegree"})
    with pytest.raises(NestError, match="resolution cannot be changed"):
        dnest.resolution = 0.5
    assert n.C_m == (250.0, 250.0, 250.0)  # nothing half-set
    many = dnest.Create("iaf_psc_exp", 1000)
    with pytest.raises(NestError, match="1000 different values.*not supported by dsnn.*nest.random"):
        many.V_m = np.linspace(-70.0, -60.0, 1000)
    assert set(many.V_m) == {-70.0}  # nothing half-set
    many.I_e = [100.0] * 500 + [200.0] * 500  # two runs: two populations
    assert many[499].I_e == 100.0 and many[500].I_e == 200.0
    izh = dnest.Create("izhikevich", 2)
    with pytest.raises(NestError, match="tau_m.*izhikevich"):
        (n + izh).set(tau_m=15.0)
    assert n.tau_m == (10.0, 10.0, 10.0)  # the iaf nodes before the izhikevich ones: not set either


def test_a_script_runs_on_a_dask_cluster(tmp_path):
    """nest.set(dsnn_client=client): the same spikes as in this process, across a change between runs."""
    import distributed

    def script(client=None):
        dnest.ResetKernel()
        if client is not None:
            dnest.set(dsnn_client=client)
        dnest.local_num_threads = 2
        nodes = dnest.Create("iaf_psc_alpha", 200, {"V_m": dnest.random.uniform(-70.0, -55.0)})
        noise = dnest.Create("poisson_generator", params={"rate": 15000.0})
        sr = dnest.Create("spike_recorder")
        dnest.Connect(nodes, nodes, {"rule": "fixed_indegree", "indegree": 20}, {"weight": 20.0, "delay": 1.5})
        dnest.Connect(noise, nodes, syn_spec={"weight": 40.0})
        dnest.Connect(nodes, sr)
        dnest.Simulate(60.0)
        nodes[0:100].set(I_e=150.0)  # a change between runs: rebuilt on the workers, state carried over
        nodes[150:160].V_m = -56.0  # state set on the workers
        dnest.Simulate(60.0)
        return sr.events

    here = script()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster, distributed.Client(cluster) as client:
        there = script(client)
    dnest.ResetKernel()
    assert here["times"].size > 100
    np.testing.assert_array_equal(here["times"], there["times"])
    np.testing.assert_array_equal(here["senders"], there["senders"])


def test_nest_math_min_max_bound_a_parameter_as_nest_does(nest):
    """min(max(x, a), b) of a normal parameter: the same bounds as NEST draws within, and the fraction of
    values on each bound that the normal's tails give."""
    from dsnn.description.distributions import Distribution

    p = dnest.math.min(dnest.math.max(dnest.random.normal(mean=0.0, std=1.0), -0.5), 1.0)
    assert isinstance(p, Distribution) and (p.low, p.high, p.bound) == (-0.5, 1.0, "clip")
    assert dnest.math.max(3.0, 4.0) == 4.0 and dnest.math.min(3.0, 4.0) == 3.0
    nest.ResetKernel()
    n = nest.Create("iaf_psc_exp", 4000, {"V_m": nest.math.min(nest.math.max(nest.random.normal(0.0, 1.0),
                                                                                  -0.5), 1.0)})
    theirs = np.asarray(n.V_m)
    dnest.ResetKernel()
    m = dnest.Create("iaf_psc_exp", 4000, {"V_m": p})
    dnest.Prepare()
    ours = np.asarray(m.V_m)
    assert theirs.min() == ours.min() == -0.5 and theirs.max() == ours.max() == 1.0
    for values in (theirs, ours):  # P(x < -0.5) = 0.3085, P(x > 1) = 0.1587
        assert abs((values == -0.5).mean() - 0.3085) < 0.03 and abs((values == 1.0).mean() - 0.1587) < 0.03


def test_a_multimeter_records_only_what_it_is_told():
    dnest.ResetKernel()
    n = dnest.Create("iaf_psc_exp", params={"I_e": 300.0})
    quiet = dnest.Create("multimeter")
    told = dnest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.5})
    dnest.Connect(quiet, n)
    dnest.Connect(told, n)
    dnest.Simulate(20.0)
    assert quiet.n_events == 0 and quiet.events["times"].size == 0
    assert told.n_events == 38 and np.all(told.events["V_m"] > -70.0)
