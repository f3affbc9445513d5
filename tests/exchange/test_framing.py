"""The hello that opens every channel: who connects, and the build's secret."""

from __future__ import annotations

import numpy as np

from dsnn.exchange.framing import HEADER_WORDS, frame, hello, hello_peer


def test_a_hello_names_its_sender_only_with_the_builds_secret():
    secret = bytes(range(32))
    head, parts = hello(3, secret)
    assert hello_peer(head, parts[0], secret) == 3
    other = bytes(32)
    assert hello_peer(head, parts[0], other) is None  # another build's secret
    bare, _ = hello(3, b"")
    assert hello_peer(bare, None, secret) is None  # none at all
    assert hello_peer(bare, None, b"") == 3  # channels without a secret (tests, in-memory)
    data, data_parts = frame(5, 0, 3, np.arange(4), np.frombuffer(secret, dtype=np.int64))
    assert hello_peer(data, data_parts[1], secret) is None  # a spike message is no hello
    assert hello_peer(head[:HEADER_WORDS - 1], parts[0], secret) is None
    assert hello_peer((-1, -1, -7, 0, 0, 4, 0), parts[0], secret) is None  # no such rank
