"""The framing of spike messages and what every transport shares.

A message is a fixed 56-byte header (seven int64: the interval number, a
tag such as the collective's round, the sender, rows (0 for 1-D data), data
items, extra items (-1: none), and whether the data follows in a send of
its own) and the raw int64 array bytes, with no serialisation layer
(distributed's comms cost about 0.5 ms a message here). Every receive
checks the interval and tag (:class:`ExchangeError` otherwise).
"""

from __future__ import annotations

import asyncio
import struct
import time

import numpy as np

__all__ = ["ExchangeError", "HEADER", "HEADER_WORDS", "HEADER_BYTES", "Closed", "Transport", "frame", "message",
           "body_words", "on_device", "split_address", "lost", "silent", "unexpected", "hello", "hello_peer",
           "SECRET_BYTES"]

#: bytes of the secret a build hands its partitions: every channel connection must present it
SECRET_BYTES = 32

#: header: interval, tag, sender, rows (0: 1-D), data items, extra items (-1: none), and whether the
#: data follows in a send of its own (ucx, data in GPU memory), as int64
HEADER = struct.Struct("=7q")
HEADER_WORDS = 7
HEADER_BYTES = HEADER.size


class ExchangeError(RuntimeError):
    """A message was lost, late, duplicated or for the wrong interval, or a peer is gone."""


def lost(rank: int, peer: int, reason: str) -> ExchangeError:
    return ExchangeError(f"lost partition {peer}: its channel to partition {rank} closed ({reason})")


def unexpected(rank: int, peer: int, interval: int, tag: int, got_interval: int, got_tag: int) -> ExchangeError:
    return ExchangeError(f"partition {rank} expected interval {interval} (tag {tag}) from partition {peer}, got "
                         f"interval {got_interval} (tag {got_tag}): a message was lost or duplicated")


def silent(rank: int, peer: int, interval: int, timeout: float) -> ExchangeError:
    return ExchangeError(f"partition {rank} received nothing from partition {peer} for interval {interval} "
                         f"within {timeout:g} s (lost partition {peer}?)")


def on_device(a) -> bool:
    """Whether array ``a`` lives in GPU memory."""
    return hasattr(a, "__cuda_array_interface__")


def _flat(a):
    """``a`` as a contiguous 1-D int64 array of its own array module (NumPy or CuPy)."""
    return a.astype(np.int64, copy=False).ravel()


def frame(interval, tag, sender, data, extra, apart: bool = False):
    """(header, parts): the header as a tuple of ints and the data and extra arrays (contiguous int64).

    ``apart``: the data goes in a send of its own (``parts`` is then ``[data, extra]``, either
    possibly empty); otherwise ``parts`` holds the non-empty ones of data and extra.
    """
    n_data = 0 if data is None else data.size
    n_extra = -1 if extra is None else extra.size
    rows = data.shape[0] if data is not None and data.ndim == 2 else 0
    if apart:
        parts = [_flat(data), _flat(extra) if extra is not None else np.zeros(0, dtype=np.int64)]
    else:
        parts = [_flat(a) for a in (data, extra) if a is not None and a.size]
    return (interval, tag, sender, rows, n_data, n_extra, int(apart)), parts


def hello(rank: int, secret: bytes):
    """The first message on a new channel, (header, parts): who is connecting (``rank``) and the build's
    ``secret`` (raw bytes, a multiple of 8; empty where the channels have none)."""
    return frame(-1, -1, rank, None, np.frombuffer(secret, dtype=np.int64) if secret else None)


def hello_peer(head, extra, secret: bytes):
    """The rank a hello ``(head, extra words)`` introduces, or None if it is no hello of this build (another
    header, a wrong or missing secret): such a connection is dropped."""
    import hmac

    if len(head) != HEADER_WORDS or head[0] != -1 or head[1] != -1 or head[4] != 0 or head[2] < 0:
        return None
    given = b"" if extra is None or head[5] < 0 else np.asarray(extra, dtype=np.int64).tobytes()
    if not hmac.compare_digest(given, secret):
        return None
    return int(head[2])


def body_words(head) -> int:
    return head[4] + max(head[5], 0)


def message(head, body, extra=None) -> dict:
    """The message of a header and its body (data then extra) or, for data sent apart, its data ``body``
    and ``extra`` (inverse of :func:`frame`)."""
    k, tag, sender, rows, n_data, n_extra, apart = head
    data = body[:n_data]
    if rows:
        data = data.reshape(rows, n_data // rows)
    if extra is None:
        extra = body[n_data:]
    return {"k": k, "tag": tag, "from": sender, "data": data, "extra": None if n_extra < 0 else extra}


def split_address(address: str) -> tuple[str, str, int]:
    """(scheme, host without IPv6 brackets, port) of ``scheme://host:port``."""
    scheme, rest = address.split("://", 1)
    host, port = rest.rsplit(":", 1)
    return scheme, host.strip("[]"), int(port)


class Transport:
    """What both transports share: counters, and waiting until the expected peers have connected."""

    def __init__(self, rank: int, timeout: float, secret: bytes = b""):
        self.rank, self.timeout = rank, timeout
        self.secret = secret  # what every incoming connection must present in its hello
        self.wait_s = 0.0
        self._connected: set = set()  # peers that opened their channel to us
        self._arrived = None  # asyncio.Event, set whenever a peer connects
        self._refused = None  # why the last incoming connection failed before it said who it was

    def _peer_connected(self, peer: int) -> None:
        self._connected.add(peer)
        self._arrived.set()

    async def wait_accepted(self, peers) -> None:
        deadline = time.monotonic() + self.timeout
        while missing := [q for q in peers if q not in self._connected]:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(deadline - time.monotonic(), 0.0))
            except asyncio.TimeoutError:
                why = f" (an incoming connection failed: {self._refused})" if self._refused else ""
                raise ExchangeError(f"partition {missing[0]} never connected to partition {self.rank} "
                                    f"within {self.timeout:g} s{why}") from None


class Closed:
    """Queue sentinel: the channel from a peer closed (``reason``)."""

    def __init__(self, reason: str):
        self.reason = reason
