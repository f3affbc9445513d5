"""Shared-memory channels: messages of every size survive the circular buffer's wrap-around and its moves
to larger files, a peer process that dies is reported at once, and no file is left in /dev/shm."""

import asyncio
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dsnn.exchange import shm
from dsnn.exchange.channels import Channels, ExchangeError

pytestmark = pytest.mark.skipif(not shm.available(), reason="shared-memory channels need x86-64 Linux /dev/shm")

#: a process that opens partition 0's channel to the partition listening at sys.argv[1], then waits
WRITER = textwrap.dedent("""
    import asyncio, os, sys, time
    from dsnn.exchange.channels import Channels

    async def main():
        a = Channels(0, timeout=30.0)
        await a.connect({1: sys.argv[1]})
        print("connected", flush=True)
        if sys.argv[2] == "exit":
            os._exit(0)  # gone without closing its channels
        time.sleep(60)

    asyncio.run(main())
""")


def _pair(timeout=5.0):
    async def opened():
        a, b = Channels(0, timeout=timeout), Channels(1, timeout=timeout)
        addr = await b.listen("shm://127.0.0.1:0")
        await a.connect({1: addr})
        await b.wait_accepted([0])
        return a, b

    return asyncio.run(opened())


def _ours() -> set:
    return {e.name for e in os.scandir(shm.SHM_DIR) if e.name.startswith("dsnn-")}


def test_messages_of_any_size_cross_wraparound_and_growth_intact():
    before = _ours()
    a, b = _pair()
    rng = np.random.default_rng(7)
    sizes = rng.integers(0, 6000, 600).tolist()  # up to 48 kB: the 1 MiB buffer wraps around many times
    sizes[300] = 400_000  # 3.2 MB: the channel moves to a larger file
    for k, n in enumerate(sizes):
        data = np.arange(k, k + n, dtype=np.int64)
        extra = np.array([k, n], dtype=np.int64) if k % 3 == 0 else None
        a.exchange(k, {1: (k % 5, data, extra)}, {})
        if k % 4 == 3:  # the reader lags by a few messages, as a slower partition does
            for j in range(k - 3, k + 1):
                got, got_extra = b.exchange(j, {}, {0: j % 5})[0]
                np.testing.assert_array_equal(got, np.arange(j, j + sizes[j], dtype=np.int64))
                assert (got_extra is None) if j % 3 else got_extra.tolist() == [j, sizes[j]]
    assert a.messages_sent == len(sizes)
    asyncio.run(a.close())
    asyncio.run(b.close())
    assert _ours() <= before  # every file was unlinked


def test_a_peer_process_that_dies_is_lost_at_once():
    async def scenario():
        b = Channels(1, timeout=30.0)
        addr = await b.listen("shm://127.0.0.1:0")
        writer = subprocess.Popen([sys.executable, "-c", WRITER, addr, "wait"], stdout=subprocess.PIPE, text=True)
        try:
            assert writer.stdout.readline().strip() == "connected"
            await b.wait_accepted([0])
            writer.kill()
            writer.wait()
            t0 = time.monotonic()
            with pytest.raises(ExchangeError, match=r"lost partition 0: .*process \d+ is gone"):
                await asyncio.to_thread(b.exchange, 0, {}, {0: 0})
            assert time.monotonic() - t0 < 5.0  # not the 30 s timeout
        finally:
            writer.kill()
            await b.close()

    asyncio.run(scenario())


def test_a_file_whose_writer_died_unmapped_is_swept():
    number = 0x5EED
    writer = subprocess.run([sys.executable, "-c", WRITER, f"shm://127.0.0.1:{number}", "exit"],
                            capture_output=True, text=True, timeout=60)
    assert writer.stdout.strip() == "connected", writer.stderr
    left = os.path.join(shm.SHM_DIR, f"dsnn-{number:x}-0.0")
    assert os.path.exists(left)  # nobody mapped it, its writer is gone
    assert left in shm.sweep()
    assert not os.path.exists(left)


def test_channels_refuse_a_listener_that_never_connects():
    async def scenario():
        b = Channels(1, timeout=0.3)
        await b.listen("shm://127.0.0.1:0")
        with pytest.raises(ExchangeError, match="partition 0 never connected to partition 1"):
            await b.wait_accepted([0])
        await b.close()

    asyncio.run(scenario())


def test_a_full_shared_memory_is_a_clear_error_not_a_crash(monkeypatch):
    """A channel file's pages are reserved when it is made: where /dev/shm is full (a container's 64 MB
    default) that fails with an error naming the fix, and leaves no file behind."""
    import errno

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    before = _ours()
    monkeypatch.setattr(os, "posix_fallocate", full)

    async def scenario():
        a, b = Channels(0, timeout=1.0), Channels(1, timeout=1.0)
        addr = await b.listen("shm://127.0.0.1:0")
        with pytest.raises(ExchangeError, match=r"no room in /dev/shm .*dsnn.shared-memory: False"):
            await a.connect({1: addr})
        await a.close()
        await b.close()

    asyncio.run(scenario())
    assert _ours() <= before


def _spikes(rng, n_local, m):
    idx = np.sort(rng.integers(0, n_local, m)).astype(np.int64)
    return idx, rng.integers(0, 1000, m).astype(np.int64)


def test_spike_messages_are_the_generic_messages_both_ways():
    """``Channels.exchange_spikes`` (compiled writes and reads) sends what ``exchange`` would send of the
    (2, m) array the loop used to make (``ids[idx]`` with steps, or the routed spikes), and reads a generic
    message as ``filter_images`` would: at many sizes, across the buffer's wrap-around and its move to a
    larger file (a message of more spikes than the receive arrays first hold included)."""
    from dsnn.exchange.maps import SendMap, filter_images, route

    before = _ours()
    a, b = _pair()
    rng = np.random.default_rng(11)
    gids = np.sort(rng.choice(10**6, 5000, replace=False)).astype(np.int64)  # the sender's local gids
    keys = np.sort(rng.choice(5000, 1200, replace=False)).astype(np.int64)  # what the receiver needs
    slots = rng.permutation(1200).astype(np.int64) + 77
    images = np.sort(rng.choice(gids, 900, replace=False))
    sizes = rng.integers(0, 400, 300).tolist()
    sizes[100], sizes[200] = 70_000, 0  # 70,000 spikes: 1.1 MB, past half the first buffer
    none = np.zeros(0, dtype=np.int64)
    for k, m in enumerate(sizes):
        idx, steps = _spikes(rng, 5000, m)
        routed = k % 2 == 1
        want = np.stack(route(SendMap(1, keys, slots), idx, steps)) if routed else np.stack([gids[idx], steps])
        if k % 3 == 0:  # compiled write, generic read
            sent = a.exchange_spikes(k, [(1, slots, keys) if routed else (1, gids, None)], [], idx, steps, none, 0)
            assert all(x.size == 0 for x in sent)  # nothing received
            got, extra = b.exchange(k, {}, {0: 0})[0]
            np.testing.assert_array_equal(got.reshape(2, -1), want)
            assert extra is None
        else:  # compiled write or generic write, compiled read with and without the image filter
            if k % 3 == 1:
                a.exchange_spikes(k, [(1, slots, keys) if routed else (1, gids, None)], [], idx, steps, none, 0)
            else:
                a.exchange(k, {1: (0, want, None)}, {})
            filtered = not routed
            got_slots, got_steps = b.exchange_spikes(k, [], [0], none, none, images if filtered else none, 500)
            expect = filter_images(images, 500, want[0], want[1]) if filtered else (want[0], want[1])
            np.testing.assert_array_equal(got_slots, expect[0])
            np.testing.assert_array_equal(got_steps, expect[1])
    assert a.bytes_sent > 0
    asyncio.run(a.close())
    asyncio.run(b.close())
    assert _ours() <= before


def test_a_spike_message_for_another_interval_is_an_error():
    a, b = _pair()
    none = np.zeros(0, dtype=np.int64)
    idx, steps = np.array([1, 2], dtype=np.int64), np.array([5, 6], dtype=np.int64)
    a.exchange_spikes(3, [(1, np.arange(10, dtype=np.int64), None)], [], idx, steps, none, 0)
    with pytest.raises(ExchangeError, match=r"expected interval 4 \(tag 0\) from partition 0, got interval 3"):
        b.exchange_spikes(4, [], [0], none, none, none, 0)
    asyncio.run(a.close())
    with pytest.raises(ExchangeError, match="lost partition 0"):  # the message is still there, then the close
        b.exchange_spikes(3, [], [0], none, none, none, 0)
        b.exchange_spikes(4, [], [0], none, none, none, 0)
    asyncio.run(b.close())
