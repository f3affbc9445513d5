"""Channels between processes over tcp, shared memory and ucx (real listeners on loopback, real
/dev/shm files): messages of any size arrive whole, every message is checked, silence times out, a
closed peer is reported, two large messages cross without deadlock."""

import numpy as np
import pytest
from needs import needs


def _shm_available():
    from dsnn.exchange.shm import available

    return available()


PROTOCOLS = ["tcp",
             pytest.param("shm", marks=pytest.mark.skipif(not _shm_available(), reason="needs x86-64 Linux /dev/shm")),
             pytest.param("ucx", marks=needs("ucxx", "distributed_ucxx"))]


@pytest.fixture(autouse=True)
def ucx_as_dask_starts_it(request):
    """In a worker, Dask's comms start UCX before any channel opens, and the channels share it. Here the
    channels come first: start UCX the way distributed-ucxx does, or a later LocalCluster(protocol="ucx")
    in this process could not start it with its own options."""
    if "ucx" in request.node.name:
        from distributed_ucxx.ucxx import init_once

        init_once()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_channels_deliver_and_check_every_message(protocol):
    """Messages of any size arrive whole and in order; the interval of every message is
    checked, silence times out, a closed peer is reported (over a real listener)."""
    import asyncio

    from dsnn.exchange.channels import Channels, ExchangeError
    from dsnn.exchange.ucx import UCX_INLINE_WORDS

    async def scenario():
        a, b = Channels(0, timeout=2.0), Channels(1, timeout=0.5)
        addr = await b.listen(f"{protocol}://127.0.0.1:0")
        await a.connect({1: addr})
        await b.wait_accepted([0])
        big = np.arange(2 * (UCX_INLINE_WORDS + 5), dtype=np.int64).reshape(2, -1)  # header + body sends
        sizes = np.array([3, 7], dtype=np.int64)

        def send(k, tag, data, extra=None):
            assert a.exchange(k, {1: (tag, data, extra)}, {}) == {}

        def receive(k, tag):
            return b.exchange(k, {}, {0: tag})[0]

        async def run(fn, *args):  # the exchange blocks: it runs in a thread, as in the actor
            return await asyncio.to_thread(fn, *args)

        await run(send, 5, 2, big, sizes)
        await run(send, 6, 0, np.zeros((2, 0), dtype=np.int64))
        await run(send, 7, 0, np.arange(4, dtype=np.int64))
        data, extra = await run(receive, 5, 2)
        np.testing.assert_array_equal(data, big)
        np.testing.assert_array_equal(extra, sizes)
        data, extra = await run(receive, 6, 0)
        assert data.shape == (2, 0) and extra is None
        data, _ = await run(receive, 7, 0)
        assert data.tolist() == [0, 1, 2, 3]
        assert a.messages_sent == 3 and a.bytes_sent == big.nbytes + sizes.nbytes + 4 * 8
        await run(send, 9, 0, np.zeros(0, dtype=np.int64))
        with pytest.raises(ExchangeError, match="expected interval 8 .* got interval 9"):
            await run(receive, 8, 0)
        with pytest.raises(ExchangeError, match="received nothing from partition 0 for interval 10"):
            await run(receive, 10, 0)
        with pytest.raises(ExchangeError, match="no channel to partition 0"):
            await run(b.exchange, 11, {0: (0, np.zeros(1, dtype=np.int64), None)}, {})
        await a.close()
        with pytest.raises(ExchangeError, match="lost partition 0"):
            await run(receive, 11, 0)
        await b.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_channels_two_large_messages_cross_without_deadlock(protocol):
    """Two partitions that send each other messages larger than the socket buffers at the same
    time both get theirs (sending and receiving proceed together)."""
    import asyncio

    from dsnn.exchange.channels import Channels

    async def scenario():
        a, b = Channels(0, timeout=10.0), Channels(1, timeout=10.0)
        addr_a = await a.listen(f"{protocol}://127.0.0.1:0")
        addr_b = await b.listen(f"{protocol}://127.0.0.1:0")
        await a.connect({1: addr_b})
        await b.connect({0: addr_a})
        await a.wait_accepted([1])
        await b.wait_accepted([0])
        x = np.arange(2_000_000, dtype=np.int64).reshape(2, -1)  # 16 MB each way
        got = await asyncio.gather(asyncio.to_thread(a.exchange, 3, {1: (0, x, None)}, {1: 0}),
                                   asyncio.to_thread(b.exchange, 3, {0: (0, x + 1, None)}, {0: 0}))
        np.testing.assert_array_equal(got[0][1][0], x + 1)
        np.testing.assert_array_equal(got[1][0][0], x)
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_strangers_before_the_peer_neither_block_nor_replace_it():
    """During a build: a connection that says nothing and an impostor with a wrong secret reach the
    listener before the real peer; the peer with the build's secret is still accepted at once, and its
    messages arrive (the impostor's hello, claiming the same rank, changed nothing)."""
    import asyncio
    import socket

    from dsnn.exchange.channels import Channels
    from dsnn.exchange.framing import HEADER, hello, split_address

    secret = bytes(range(32))

    async def scenario():
        a, b = Channels(0, timeout=5.0, secret=secret), Channels(1, timeout=5.0, secret=secret)
        addr = await b.listen("tcp://127.0.0.1:0")
        _, host, port = split_address(addr)
        silent = socket.create_connection((host, port))
        impostor = socket.create_connection((host, port))
        head, parts = hello(0, bytes(32))
        impostor.sendall(HEADER.pack(*head) + b"".join(bytes(p) for p in parts))
        await asyncio.sleep(0.2)
        t0 = asyncio.get_running_loop().time()
        await a.connect({1: addr})
        await b.wait_accepted([0])
        assert asyncio.get_running_loop().time() - t0 < 2.0  # not held up by the silent one
        data = np.arange(6, dtype=np.int64)
        await asyncio.to_thread(a.exchange, 3, {1: (0, data, None)}, {})
        got = await asyncio.to_thread(b.exchange, 3, {}, {0: 0})
        assert np.array_equal(got[0][0], data)
        for s in (silent, impostor):
            s.close()
        await a.close()
        await b.close()

    asyncio.run(scenario())
