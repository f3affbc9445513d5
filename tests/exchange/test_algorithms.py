"""The exchange algorithms over real in-memory channels: Bruck's all-gather for any number of
partitions."""

import numpy as np
import pytest


@pytest.mark.parametrize("P", range(1, 14))
def test_bruck_allgather_gives_everyone_every_block_in_log_rounds(P):
    from concurrent.futures import ThreadPoolExecutor

    from dsnn.exchange.algorithms import bruck_allgather, run_blocking
    from dsnn.exchange.channels import Channels
    from dsnn.exchange.memory import MemoryHub

    hub = MemoryHub(P)
    channels = [Channels.in_memory(hub, r, timeout=10.0) for r in range(P)]
    blocks = [np.stack([np.arange(r + 1) + 100 * r, np.full(r + 1, r)]) for r in range(P)]  # sizes differ
    with ThreadPoolExecutor(P) as pool:
        got = list(pool.map(lambda r: run_blocking(bruck_allgather(3, r, P, blocks[r]), channels[r]), range(P)))
    for r in range(P):
        assert len(got[r]) == P
        for i, b in enumerate(got[r]):
            np.testing.assert_array_equal(b, blocks[(r + i) % P])
    rounds = 0 if P == 1 else int(np.ceil(np.log2(P)))
    assert [c.messages_sent for c in channels] == [rounds] * P
