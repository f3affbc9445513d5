"""Checkpoints: the dynamic state written by the partitions, restored on any partition count, bit for bit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from example_models import load

import dsnn
from dsnn.runners import checkpoint as ckpt

T_FIRST, T_REST = 120.0, 180.0


def _brunel(seed=3):
    """Brunel at scale 0.05 (625 neurons, Poisson input, one delay) with a voltmeter on three neurons."""
    net = load("brunel").network(scale=0.05, seed=seed)
    vm = net.create("voltmeter", params={"interval": 0.1})
    net.connect(vm, net.populations[0][0:3])
    return net, vm


@pytest.fixture(scope="module")
def uninterrupted():
    """Spikes and V_m of the uninterrupted 300 ms run (2 partitions)."""
    net, vm = _brunel()
    sim = net.build(partitions=2)
    sim.run(T_FIRST + T_REST)
    return sim.spikes(), sim.voltages(vm)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A checkpoint at 120 ms of the run on 2 partitions, p2p: (network, voltmeter, path)."""
    net, vm = _brunel()
    sim = net.build(partitions=2)
    sim.run(T_FIRST)
    path = sim.checkpoint(tmp_path_factory.mktemp("ckpt") / "at120")
    return net, vm, path


@pytest.mark.parametrize("partitions,exchange", [(1, "p2p"), (3, "collective"), (4, "p2p")])
def test_restore_on_another_partition_count_continues_bit_for_bit(uninterrupted, saved, partitions, exchange):
    """120 ms, checkpoint, restore on 1, 3 or 4 partitions, 180 ms more: the spikes and V_m of the
    uninterrupted run, those before the checkpoint included."""
    net, vm, path = saved
    sim = dsnn.restore(net, path, partitions=partitions, exchange=exchange)
    assert sim.time == T_FIRST and sim.n_partitions == partitions
    sim.run(T_REST)
    spikes, voltages = uninterrupted
    assert len(spikes) > 1000 and (spikes["time"] > T_FIRST).sum() > 500
    assert sim.spikes().equals(spikes)
    assert sim.voltages(vm).equals(voltages)


def test_heterogeneous_delays_and_two_models_restore_bit_for_bit(tmp_path):
    """The microcircuit (normal delays through the delivery log, DC input) and hpc_benchmark (iaf_psc_alpha):
    checkpoint on 2 partitions, restore on 3, the same spikes as without."""
    for name, params in (("microcircuit", {"scale": 0.05, "t_presim": 0.0}), ("hpc_benchmark", {"scale": 0.05})):
        model = load(name)
        full = model.network(**params).build(partitions=2)
        full.run(100.0)
        want = full.spikes()
        net = model.network(**params)
        sim = net.build(partitions=2)
        sim.run(40.0)
        path = sim.checkpoint(tmp_path / name)
        again = dsnn.restore(net, path, partitions=3)
        again.run(60.0)
        assert len(want) > 100 and (want["time"] > 40.0).sum() > 50, name
        assert again.spikes().equals(want), name


def test_a_checkpoint_holds_a_file_per_partition_and_a_manifest_last(saved):
    net, _, path = saved
    manifest = json.loads((Path(path) / ckpt.MANIFEST).read_text())
    assert manifest["step"] == round(T_FIRST / net.dt) and manifest["partitions"] == 2
    assert manifest["fingerprint"] == ckpt.fingerprint(net) and manifest["neurons"] == net.n_neurons
    assert sorted(p.name for p in Path(path).iterdir()) == sorted([ckpt.MANIFEST] + [f["file"] for f in
                                                                                    manifest["files"]])
    assert not [p for p in Path(path).parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_new_checkpoint_replaces_the_old_only_once_complete(tmp_path, monkeypatch):
    """A checkpoint that fails while a partition writes leaves the older one at the path, whole."""
    net, _ = _brunel()
    sim = net.build(partitions=2)
    sim.run(20.0)
    path_ = Path(sim.checkpoint(tmp_path / "ck"))
    path = str(path_)
    before = json.loads(path_.joinpath(ckpt.MANIFEST).read_text())
    sim.run(20.0)
    real = ckpt.state.capture

    def failing(part):
        if part.index == 1:
            raise OSError("disk full")
        return real(part)

    monkeypatch.setattr(ckpt.state, "capture", failing)
    with pytest.raises(OSError, match="disk full"):
        sim.checkpoint(tmp_path / "ck")
    monkeypatch.undo()
    assert json.loads(path_.joinpath(ckpt.MANIFEST).read_text()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]
    assert dsnn.restore(net, path).time == 20.0
    assert Path(sim.checkpoint(tmp_path / "ck")) == path_
    assert dsnn.restore(net, path).time == 40.0


def _copy(saved, tmp_path) -> Path:
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(saved[2], dst)
    return dst


def test_damaged_or_foreign_checkpoints_are_refused_naming_the_file(saved, tmp_path):
    net, _, path = saved
    copy = _copy(saved, tmp_path)
    victim = copy / "part-00001.npz"
    data = victim.read_bytes()

    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"part-00001\.npz is truncated"):
        dsnn.restore(net, copy)
    victim.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    with pytest.raises(ValueError, match=r"part-00001\.npz is corrupted"):
        dsnn.restore(net, copy)
    victim.unlink()
    with pytest.raises(ValueError, match=r"part-00001\.npz is missing"):
        dsnn.restore(net, copy)

    other, _ = _brunel(seed=4)
    with pytest.raises(ValueError, match="checkpoint of another network"):
        dsnn.restore(other, path)

    copy2 = _copy(saved, tmp_path / "b")
    manifest = json.loads((copy2 / ckpt.MANIFEST).read_text())
    (copy2 / ckpt.MANIFEST).write_text(json.dumps(dict(manifest, format=99)))
    with pytest.raises(ValueError, match="format 99"):
        dsnn.restore(net, copy2)
    (copy2 / ckpt.MANIFEST).write_text("{not json")
    with pytest.raises(ValueError, match=r"manifest\.json cannot be read"):
        dsnn.restore(net, copy2)
    os.unlink(copy2 / ckpt.MANIFEST)
    with pytest.raises(ValueError, match="not a complete checkpoint"):
        dsnn.restore(net, copy2)
    with pytest.raises(ValueError, match="not a checkpoint directory"):
        dsnn.restore(net, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="cannot open 'nosuch://bucket/ck' with fsspec"):
        dsnn.restore(net, "nosuch://bucket/ck")


def test_the_fingerprint_follows_what_builds_the_network():
    a, _ = _brunel()
    b, _ = _brunel()
    assert ckpt.fingerprint(a) == ckpt.fingerprint(b)
    c, _ = _brunel()
    c.connect(c.populations[0], c.populations[1], {"rule": "fixed_indegree", "indegree": 2},
              {"weight": 1.0, "delay": 1.5})
    assert ckpt.fingerprint(c) != ckpt.fingerprint(a)
    d = load("brunel").network(scale=0.05, seed=3, g=4.5)
    assert ckpt.fingerprint(d) != ckpt.fingerprint(load("brunel").network(scale=0.05, seed=3))


def test_periodic_checkpoints_keep_the_last_and_restore_takes_the_newest(tmp_path, uninterrupted):
    """run(300, checkpoint_every=100, checkpoint_keep=2) leaves step-2000 and step-3000; restoring the
    directory continues from 300 ms; with the newest removed, from 200 ms, and 100 ms more give the
    uninterrupted spikes. Bad settings are refused before any step."""
    net, vm = _brunel()
    sim = net.build(partitions=2)
    for bad, message in (({"checkpoint_every": 10.0}, "go together"),
                         ({"checkpoint_every": 0.05, "checkpoint_dir": tmp_path}, "multiple of dt"),
                         ({"checkpoint_every": 10.0, "checkpoint_dir": tmp_path, "checkpoint_keep": 0},
                          "checkpoint_keep must be an integer >= 1"),
                         ({"recover": True}, "recover=True needs checkpoint_every")):
        with pytest.raises(ValueError, match=message):
            sim.run(10.0, **bad)
    assert sim.time == 0.0
    sim.run(T_FIRST + T_REST, checkpoint_every=100.0, checkpoint_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000000002000", "step-000000003000"]
    assert dsnn.restore(net, tmp_path).time == 300.0
    import shutil

    shutil.rmtree(tmp_path / "step-000000003000")
    again = dsnn.restore(net, tmp_path, partitions=3)
    assert again.time == 200.0
    again.run(100.0)
    assert again.spikes().equals(uninterrupted[0])
    assert again.voltages(vm).equals(uninterrupted[1])


def test_streamed_recordings_stay_bounded_and_survive_a_restore_without_doubles(tmp_path, uninterrupted):
    """Spikes and V_m streamed to Parquet (at most 300 records held per partition): many files, the
    uninterrupted spikes and V_m from sim.spikes() and sim.voltages(); restored from the checkpoint at
    200 ms after the run went to 300 ms, the files from 200 ms on are dropped and redone: again the
    uninterrupted recordings, none missing, none twice."""
    from dsnn.runners import streams

    net, vm = _brunel()
    sim = net.build(partitions=2)
    sim.stream_recordings(tmp_path / "rec", max_records=300)
    with pytest.raises(ValueError, match="max_records must be an integer >= 0"):
        sim.stream_recordings(tmp_path / "rec", max_records=-1)
    sim.run(T_FIRST + T_REST, checkpoint_every=100.0, checkpoint_dir=tmp_path / "ck", checkpoint_keep=3)
    files = sorted((tmp_path / "rec").glob("spikes-*/*.parquet"))
    recorder = [p for p in net.populations if p.model == "spike_recorder"][0]
    chunks = streams.read_spikes(tmp_path / "rec", recorder.first)
    spikes, voltages = uninterrupted
    assert len(files) == len(chunks) > 10
    assert sum(len(g) for g, _ in chunks) == len(spikes)  # all of them in the files, each once
    assert max(len(g) for g, _ in chunks) <= 300 + 200  # the limit, and at most one interval's spikes more
    assert len(list((tmp_path / "rec").glob("vm-*/*.parquet"))) > 10
    assert all(part.recorded_count == 0 and not any(part.recorded_spikes.values())
               and not any(part.recorded_vm.values()) for part in sim.partitions)
    assert sim.spikes().equals(spikes)
    assert sim.voltages(vm).equals(voltages)
    again = dsnn.restore(net, tmp_path / "ck" / "step-000000002000", partitions=3)
    assert again.stream_dir == str((tmp_path / "rec").resolve())
    assert len(sorted((tmp_path / "rec").glob("spikes-*/*.parquet"))) < len(files)
    again.run(100.0)
    assert again.spikes().equals(spikes)
    assert again.voltages(vm).equals(voltages)


def test_a_checkpoint_at_an_fsspec_url_restores_bit_for_bit(uninterrupted):
    """The same through fsspec's in-memory file system (memory://: one process) and a file:// URL."""
    import fsspec

    net, vm = _brunel()
    sim = net.build(partitions=2)
    sim.run(T_FIRST)
    for url in ("memory://dsnn-test/ck", None):
        if url is None:
            import tempfile

            url = "file://" + tempfile.mkdtemp() + "/ck"
        path = sim.checkpoint(url)
        assert path.startswith(url.split("://")[0] + "://")
        fs = fsspec.core.url_to_fs(url)[0]
        assert fs.isfile(url + "/manifest.json")
        again = dsnn.restore(net, path, partitions=3)
        again.run(T_REST)
        assert again.spikes().equals(uninterrupted[0])
        assert again.voltages(vm).equals(uninterrupted[1])
    fsspec.filesystem("memory").rm("/dsnn-test", recursive=True)


def _driven(amplitude: float):
    """Brunel at scale 0.05 with a dc_generator onto part of E that starts at 150 ms."""
    net, vm = _brunel()
    dc = net.create("dc_generator", params={"amplitude": amplitude, "start": 150.0})
    net.connect(dc, net.populations[0][0:100], syn_spec={"weight": 1.0, "delay": 1.0})
    return net, vm


def test_restore_with_changed_parameters_goes_on_with_them(tmp_path):
    """A dc amplitude changed at a checkpoint taken before the generator starts gives the run that had
    the new amplitude from the start; the unchanged network refuses the changed checkpoint without
    changed_parameters, and a network with other connections is refused with it."""
    net, vm = _driven(100.0)
    sim = net.build(partitions=2)
    sim.run(T_FIRST)
    path = sim.checkpoint(tmp_path / "at120")
    changed, vm2 = _driven(300.0)
    with pytest.raises(ValueError, match="fingerprint differs"):
        dsnn.restore(changed, path)
    resumed = dsnn.restore(changed, path, partitions=3, changed_parameters=True)
    resumed.run(T_REST)
    reference, vm3 = _driven(300.0)
    ref = reference.build(partitions=1)
    ref.run(T_FIRST + T_REST)
    assert (ref.spikes()["time"] > 150.0).sum() > 100
    assert resumed.spikes().equals(ref.spikes())
    assert resumed.voltages(vm2).equals(ref.voltages(vm3))
    other, _ = _driven(300.0)
    other.connect(other.populations[0], other.populations[1], {"rule": "fixed_indegree", "indegree": 3})
    with pytest.raises(ValueError, match="seed, dt, nodes or connections differ"):
        dsnn.restore(other, path, changed_parameters=True)


def test_the_structure_ignores_parameters_and_how_nodes_are_split():
    """Two networks of the same nodes and connections, one with a population cut in two and other
    parameters: the same structure, not the same fingerprint; other connections: another structure."""
    def network(split, tau_m, indegree=5):
        net = dsnn.Network(seed=2)
        if split:
            A = net.create("iaf_psc_exp", 30, {"tau_m": tau_m}) + net.create("iaf_psc_exp", 20)
        else:
            A = net.create("iaf_psc_exp", 50)
        net.connect(A, A, {"rule": "fixed_indegree", "indegree": indegree})
        return net

    a, b = network(False, 10.0), network(True, 15.0)
    assert ckpt.structure(a) == ckpt.structure(b) and ckpt.fingerprint(a) != ckpt.fingerprint(b)
    assert ckpt.structure(network(True, 15.0, indegree=6)) != ckpt.structure(a)
