"""In-memory channels (what the in-process runner's partitions exchange through): every message is
checked, silence times out, a closed partition is named, never a hang."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from dsnn.exchange.channels import Channels, ExchangeError
from dsnn.exchange.memory import MemoryHub


def _pair(timeout=0.3):
    hub = MemoryHub(3)
    return hub, Channels.in_memory(hub, 0, timeout), Channels.in_memory(hub, 1, timeout)


def test_messages_arrive_whole_in_order_with_their_extra():
    _, a, b = _pair()
    data = np.arange(12, dtype=np.int64).reshape(2, 6)
    a.exchange(4, {1: (2, data, np.array([1, 5], dtype=np.int64))}, {})
    a.exchange(5, {1: (0, np.zeros((2, 0), dtype=np.int64), None)}, {})
    got, extra = b.exchange(4, {}, {0: 2})[0]
    np.testing.assert_array_equal(got, data)
    assert extra.tolist() == [1, 5]
    got, extra = b.exchange(5, {}, {0: 0})[0]
    assert got.shape == (2, 0) and extra is None
    assert a.messages_sent == 2 and a.bytes_sent == data.nbytes + 16
    assert a.wire_bytes_sent == a.bytes_sent + 2 * 56


def test_the_data_is_copied_when_sent():
    _, a, b = _pair()
    data = np.arange(4, dtype=np.int64)
    a.exchange(0, {1: (0, data, None)}, {})
    data[:] = -1  # the sender reuses its buffer
    assert b.exchange(0, {}, {0: 0})[0][0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("sent, expected, match", [
    ((7, 0), (6, 0), r"expected interval 6 \(tag 0\) from partition 0, got interval 7 \(tag 0\)"),  # early
    ((5, 0), (6, 0), r"expected interval 6 .* got interval 5"),  # late or duplicated
    ((6, 3), (6, 1), r"expected interval 6 \(tag 1\) .* got interval 6 \(tag 3\)"),  # another round's
])
def test_a_message_for_another_interval_or_round_is_an_error(sent, expected, match):
    _, a, b = _pair()
    a.exchange(sent[0], {1: (sent[1], np.zeros(1, dtype=np.int64), None)}, {})
    with pytest.raises(ExchangeError, match=match):
        b.exchange(expected[0], {}, {0: expected[1]})


def test_silence_times_out_naming_the_peer_and_interval():
    _, a, b = _pair(timeout=0.2)
    t0 = time.monotonic()
    with pytest.raises(ExchangeError, match=r"partition 1 received nothing from partition 0 for interval 9 "
                                            r"within 0.2 s"):
        b.exchange(9, {}, {0: 0})
    assert 0.19 < time.monotonic() - t0 < 5.0


def test_a_closed_partition_is_lost_at_once_even_while_waited_for():
    hub, a, b = _pair(timeout=30.0)
    errors = []

    def wait():
        try:
            b.exchange(0, {}, {0: 0})
        except ExchangeError as exc:
            errors.append(str(exc))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    hub.close(0, "partition 0 failed: ZeroDivisionError")
    waiter.join(5.0)
    assert not waiter.is_alive() and time.monotonic() - t0 < 2.0
    assert errors and "lost partition 0" in errors[0] and "ZeroDivisionError" in errors[0]
    with pytest.raises(ExchangeError, match="its channels are closed"):
        a.exchange(1, {1: (0, np.zeros(1, dtype=np.int64), None)}, {})


def test_sending_to_no_partition_of_the_hub_is_an_error():
    _, a, _ = _pair()
    for peer in (0, 3, -1):
        with pytest.raises(ExchangeError, match=f"no channel to partition {peer}"):
            a.exchange(0, {peer: (0, np.zeros(1, dtype=np.int64), None)}, {})


def test_post_ready_take_is_exchange_in_two_halves():
    _, a, b = _pair()
    a.post(3, {1: (0, np.arange(3, dtype=np.int64), None)})
    assert not a.ready({1: 0}) and b.ready({0: 0})
    assert b.take(3, {0: 0})[0][0].tolist() == [0, 1, 2]
    assert not b.ready({0: 0})
