"""Small networks the tests share."""

import dsnn


def mixed_network(model: str = "iaf_psc_exp"):
    """Every kernel at once: Poisson, dc and spike_generator input, fixed and random weights,
    several delays, voltmeter and spike recorder."""
    net = dsnn.Network(seed=7, dt=0.1)
    params = {"V_m": dsnn.random.uniform(-70.0, -55.0), "t_ref": 2.0}
    if model == "iaf_psc_delta":  # weights are jumps of V_m in mV: keep the input in flight while refractory
        params["refractory_input"] = True
    elif model == "izhikevich":  # no refractory period; weights in mV
        params = {"V_m": dsnn.random.uniform(-70.0, -55.0), "U_m": dsnn.random.normal(-13.0, 1.0)}
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


def parrot_network():
    """Poisson trains of 2 spikes per step (multiplicities up to ~8) into 20 parrots, relayed by 40 more with
    coincident spike_generator input, driving iaf_psc_exp neurons."""
    net = dsnn.Network(seed=3, dt=0.1)
    pg = net.create("poisson_generator", params={"rate": 20000.0})
    sources = net.create("parrot_neuron", 20)
    relays = net.create("parrot_neuron", 40)
    sg = net.create("spike_generator", params={"spike_times": [2.0, 2.0, 7.5, 7.5, 7.5]})
    neurons = net.create("iaf_psc_exp", 30, {"V_m": dsnn.random.uniform(-70.0, -60.0)})
    net.connect(pg, sources, syn_spec={"weight": 1.0, "delay": 1.0})
    net.connect(sources, relays, {"rule": "fixed_indegree", "indegree": 2},
                {"weight": 1.0, "delay": dsnn.random.uniform(1.0, 3.0)})
    net.connect(sg, relays[:10], syn_spec={"weight": 1.0, "delay": 1.0})
    net.connect(relays, neurons, {"rule": "fixed_indegree", "indegree": 10}, {"weight": 8.0, "delay": 1.5})
    sr = net.create("spike_recorder")
    vm = net.create("voltmeter", params={"interval": 0.1})
    for pop in (sources, relays, neurons):
        net.connect(pop, sr)
    net.connect(vm, neurons[:3])
    return net, sr, vm


def conductance_network(model: str = "iaf_cond_exp", exact: bool = False, rate: float = 9000.0, weight: float = 2.0):
    """Conductance-based neurons (weights in nS) with every kind of input: Poisson trains, a dc current, a
    spike_generator burst, recurrent excitation and inhibition of several delays; a spike recorder and a
    voltmeter. ``exact``: the AdEx models' exact-conductance option."""
    net = dsnn.Network(seed=11, dt=0.1)
    params = {"V_m": dsnn.random.uniform(-70.0, -52.0), "t_ref": 2.0}
    if exact:
        params["exact_conductances"] = 1.0
    E = net.create(model, 160, params, label="E")
    I = net.create(model, 40, params, label="I")  # noqa: E741
    pg = net.create("poisson_generator", params={"rate": rate})
    dc = net.create("dc_generator", params={"amplitude": 120.0, "start": 30.0, "stop": 120.0})
    sg = net.create("spike_generator", params={"spike_times": [5.0, 5.0, 60.3]})
    net.connect(E, E + I, {"rule": "fixed_indegree", "indegree": 20},
                {"weight": dsnn.random.uniform(1.0, 3.0), "delay": dsnn.random.uniform(1.0, 3.0)})
    net.connect(I, E + I, {"rule": "fixed_indegree", "indegree": 10}, {"weight": -6.0, "delay": 1.2})
    net.connect(pg, E + I, syn_spec={"weight": weight, "delay": 1.0})
    net.connect(dc, E[:40], syn_spec={"weight": 1.0, "delay": 0.5})
    net.connect(sg, E[:20], syn_spec={"weight": 30.0, "delay": 1.0})
    sr = net.create("spike_recorder")
    vm = net.create("voltmeter", params={"interval": 0.1})
    net.connect(E + I, sr)
    net.connect(vm, E[:3])
    net.connect(vm, I[:2])
    return net, sr, vm


def plastic_network(seed=3, synapse="stdp_synapse"):
    """80 excitatory iaf_psc_alpha neurons with plastic E->E synapses of model ``synapse`` (stdp_synapse:
    random delays and weights; stdp_pl_synapse_hom: one delay, as NEST's hpc_benchmark; tsodyks2_synapse:
    short-term plasticity), 20 inhibitory ones with static synapses, Poisson input. Returns the network, the
    plastic projection and a spike recorder of all neurons."""
    net = dsnn.Network(seed=seed)
    E = net.create("iaf_psc_alpha", 80, {"V_m": dsnn.random.uniform(-70.0, -55.0), "tau_minus": 30.0}, label="E")
    I = net.create("iaf_psc_alpha", 20, {"V_m": dsnn.random.uniform(-70.0, -55.0)}, label="I")  # noqa: E741
    pg = net.create("poisson_generator", params={"rate": 4500.0})
    sr = net.create("spike_recorder")
    syn = {"synapse_model": "stdp_synapse", "weight": dsnn.random.uniform(min=5.0, max=15.0),
           "delay": dsnn.random.uniform(min=1.0, max=3.0), "Wmax": 30.0, "lambda": 0.02, "alpha": 1.1}
    if synapse == "tsodyks2_synapse":
        syn = {"synapse_model": "tsodyks2_synapse", "weight": dsnn.random.uniform(min=20.0, max=60.0),
               "delay": dsnn.random.uniform(min=1.0, max=3.0), "U": 0.4, "tau_rec": 200.0, "tau_fac": 100.0}
    elif synapse == "stdp_pl_synapse_hom":
        syn = {"synapse_model": "stdp_pl_synapse_hom", "weight": dsnn.random.uniform(min=5.0, max=15.0),
               "delay": 1.5, "lambda": 0.02, "alpha": 1.1, "mu": 0.4}
    proj = net.connect(E, E + I, {"rule": "fixed_indegree", "indegree": 16}, syn)
    net.connect(I, E + I, {"rule": "fixed_indegree", "indegree": 4}, {"weight": -150.0, "delay": 1.0})
    net.connect(pg, E + I, syn_spec={"weight": 25.0, "delay": 1.0})
    net.connect(E + I, sr)
    return net, proj, sr
