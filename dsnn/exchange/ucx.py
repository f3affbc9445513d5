"""UCX channels: ucxx endpoints on the worker's event loop.

A message is one tag-matched send received into a preallocated buffer
(header and body together, up to :data:`UCX_INLINE_WORDS` words; longer
bodies follow their header as a second send); a reader task per peer
queues what arrives. Data in GPU memory (any array with
``__cuda_array_interface__``, e.g. CuPy) is sent as it is, GPU-direct, in a
send of its own after the header (and the small host-side ``extra``);
channels opened with ``device=True`` receive data into GPU memory (CuPy),
so spikes go from one partition's GPU to another's without staging
through host memory. A blocking :meth:`UcxTransport.exchange` hands the
exchange to the event loop and waits for it.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from .framing import HEADER_WORDS, Closed, ExchangeError, Transport, body_words, hello, hello_peer, lost, silent

__all__ = ["UcxTransport", "UCX_INLINE_WORDS"]

#: over UCX, messages up to this many int64 words (header included) go as one send
UCX_INLINE_WORDS = 8192


class _UcxComm:
    """One direction of a ucxx channel (see the module docstring for the framing).

    ``device``: the array module of GPU memory (CuPy) for channels that receive data there, else None.
    """

    def __init__(self, endpoint, device=None):
        self.endpoint = endpoint
        self.device = device
        self._buffer = None

    async def write(self, head, parts) -> None:
        head = np.array(head, dtype=np.int64)
        if head[6]:  # data apart: [header | extra] inline, then the data as it is (GPU-direct)
            data, extra = parts
            if HEADER_WORDS + extra.size <= UCX_INLINE_WORDS:
                await self.endpoint.send(np.concatenate([head, extra]))
            else:
                await self.endpoint.send(head)
                await self.endpoint.send(extra)
            if data.size:
                await self.endpoint.send(data)
        elif HEADER_WORDS + sum(a.size for a in parts) <= UCX_INLINE_WORDS:
            await self.endpoint.send(np.concatenate([head, *parts]) if parts else head)
        else:
            await self.endpoint.send(head)
            await self.endpoint.send(np.concatenate(parts) if len(parts) > 1 else parts[0])

    async def read(self) -> tuple:
        """(header, body, extra) of the next message; extra is None unless the data came apart."""
        if self._buffer is None:
            self._buffer = np.empty(UCX_INLINE_WORDS, dtype=np.int64)
        await self.endpoint.recv(self._buffer)
        head = tuple(self._buffer[:HEADER_WORDS].tolist())
        n_data, n_extra, apart = head[4], max(head[5], 0), head[6]
        if apart:
            if HEADER_WORDS + n_extra <= UCX_INLINE_WORDS:
                extra = self._buffer[HEADER_WORDS:HEADER_WORDS + n_extra].copy()
            else:
                extra = np.empty(n_extra, dtype=np.int64)
                await self.endpoint.recv(extra)
            body = self._empty(n_data)
            if n_data:
                await self.endpoint.recv(body)
            return head, body, extra
        n = body_words(head)
        if HEADER_WORDS + n <= UCX_INLINE_WORDS:
            body = self._buffer[HEADER_WORDS:HEADER_WORDS + n].copy()
        else:
            body = np.empty(n, dtype=np.int64)
            await self.endpoint.recv(body)
        if self.device is not None:  # data from a host sender, to GPU memory all the same
            return head, self.device.asarray(body[:head[4]]), body[head[4]:]
        return head, body, None

    def _empty(self, n: int):
        return (np if self.device is None else self.device).empty(n, dtype=np.int64)

    async def close(self) -> None:
        try:
            await self.endpoint.close()
        except Exception:  # noqa: BLE001 - closing a broken endpoint: drop it hard
            self.endpoint.abort()


class UcxTransport(Transport):
    """ucxx endpoints on the worker's event loop; :meth:`exchange` hands each exchange to that loop."""

    def __init__(self, rank: int, timeout: float, spin_s: float = 0.0, device: bool = False, secret: bytes = b""):
        super().__init__(rank, timeout, secret)  # no spin_s: ucxx's own progress mode decides about polling
        self._device = _cupy() if device else None
        self._loop = None
        self._listener = None
        self._out: dict = {}
        self._queues: dict = {}
        self._comms_in: list = []

    def _queue(self, peer: int) -> asyncio.Queue:
        if peer not in self._queues:
            self._queues[peer] = asyncio.Queue()
        return self._queues[peer]

    async def listen(self, host: str, port: int) -> int:
        import ucxx  # in a Dask worker its comms have initialised UCX already: the channels share it

        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        self._listener = ucxx.create_listener(self._serve, port or None)
        return self._listener.port

    async def _serve(self, endpoint) -> None:
        """Read one peer's messages into its queue until the channel closes (then queue a Closed)."""
        comm = _UcxComm(endpoint, self._device)
        self._comms_in.append(comm)
        queue = None
        try:
            head, body, extra = await asyncio.wait_for(comm.read(), self.timeout)  # hello: who is at the other end
            words = extra if extra is not None else body[head[4]:]  # the extra words follow the (no) data
            peer = hello_peer(tuple(int(x) for x in head), words, self.secret)
            if peer is None or peer in self._connected:  # not of this build: dropped, nothing changes
                self._comms_in.remove(comm)
                await endpoint.close()
                return
            queue = self._queue(peer)
            self._peer_connected(peer)
            while True:
                queue.put_nowait(await comm.read())
        except asyncio.CancelledError:  # the loop is shutting down: end quietly
            if queue is not None:
                queue.put_nowait(Closed("channel closed"))
        except Exception as exc:  # noqa: BLE001 - ucxx reports a closed peer with its own errors
            if queue is not None:
                queue.put_nowait(Closed(f"{type(exc).__name__}: {exc}"))
            else:
                self._refused = f"{type(exc).__name__}: {exc}"

    async def connect(self, peer: int, host: str, port: int) -> None:
        import ucxx

        self._loop = asyncio.get_running_loop()
        endpoint = await asyncio.wait_for(ucxx.create_endpoint(host, port), self.timeout)
        comm = _UcxComm(endpoint)
        await comm.write(*hello(self.rank, self.secret))
        self._out[peer] = comm

    def has_out(self, peer: int) -> bool:
        return peer in self._out

    def exchange(self, interval: int, frames: dict, wanted, overlap=None) -> dict:
        if overlap is not None:
            overlap()  # the sends go from the event loop: nothing to overlap with in this thread
        if self._loop is None or self._loop.is_closed():
            raise ExchangeError(f"partition {self.rank}: its channels are closed")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError("Channels.exchange blocks: call it from the partition's thread, not the event loop")
        return asyncio.run_coroutine_threadsafe(self.exchange_async(interval, frames, wanted), self._loop).result()

    async def exchange_async(self, interval: int, frames: dict, wanted) -> dict:
        t0 = time.perf_counter()
        try:
            for peer, (head, parts) in frames.items():  # the peers' reader tasks always have a receive posted
                write = self._out[peer].write(head, parts)
                try:
                    if not head[6] and sum(a.size for a in parts) + HEADER_WORDS <= UCX_INLINE_WORDS:
                        await write  # small host message: eager, completes locally
                    else:  # rendezvous: waits for the peer
                        await asyncio.wait_for(write, self.timeout)
                except asyncio.TimeoutError:
                    raise ExchangeError(f"partition {peer} took no data from partition {self.rank} for "
                                        f"{self.timeout:g} s (lost partition {peer}?)") from None
                except Exception as exc:  # noqa: BLE001 - any transport failure means the peer is gone
                    raise ExchangeError(f"lost partition {peer}: sending to it failed "
                                        f"({type(exc).__name__}: {exc})") from None
            got = {}
            for peer in wanted:
                queue = self._queue(peer)
                if queue.empty():
                    try:
                        msg = await asyncio.wait_for(queue.get(), self.timeout)
                    except asyncio.TimeoutError:
                        raise silent(self.rank, peer, interval, self.timeout) from None
                else:
                    msg = queue.get_nowait()
                if isinstance(msg, Closed):
                    queue.put_nowait(msg)  # every later receive fails the same way
                    raise lost(self.rank, peer, msg.reason)
                got[peer] = msg
            return got
        finally:
            self.wait_s += time.perf_counter() - t0  # all of it: the loop is free meanwhile

    async def close(self) -> None:
        for comm in list(self._out.values()) + self._comms_in:
            await comm.close()
        self._out.clear()
        self._comms_in.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def _cupy():
    """CuPy, the array module of GPU memory (imported only for channels that receive there)."""
    import cupy

    return cupy
