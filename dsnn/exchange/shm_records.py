"""Records in a shared-memory channel's circular buffer, written and read by compiled code.

The layout is :mod:`.shm`'s: int64 control words at the start of the
file (the bytes written and read, ...) and a circular buffer of int64
words holding records ``size in bytes, header (HEADER_WORDS), data,
extra``; a record that would run past the end is preceded by a skip
(``SKIP``) that sends the reader back to the start. Each function is one
compiled call, so a message costs the copy and a fence, not the dozen
NumPy scalar operations a Python version pays. The fence orders the
copy before the published count (writer) and the count before the copy
(reader): the compiler may otherwise move the stores and loads across it.
"""

from __future__ import annotations

import numpy as np

from ..support.jit import fence, kernel
from .framing import HEADER_WORDS

__all__ = ["put_record", "take_record", "put_spikes", "take_spikes", "WRITTEN", "READ", "NEXT", "CAPACITY",
           "WRITER", "READER", "CLOSED", "SKIP", "CONTROL_BYTES"]

# control words (int64) at the start of a channel file
WRITTEN, READ, NEXT, CAPACITY, WRITER, READER, CLOSED = range(7)
CONTROL_BYTES = 64
SKIP = -1  # record length that sends the reader back to the start of the buffer


@kernel(inline=True)
def _begin(control, words, record, k, tag, sender, rows, n_data, n_extra):
    """Make room for a record of ``record`` bytes and write its size and header; returns (word where its body
    starts, the written count that publishes it), or (-1, 0) if the reader must first take more."""
    cap = control[CAPACITY]
    written = control[WRITTEN]
    at = written % cap
    skip = cap - at if cap - at < record else 0
    if written + skip + record - control[READ] > cap:
        return -1, 0
    w = at >> 3
    if skip:
        words[w] = SKIP
        written += skip
        w = 0
    words[w] = record - 8
    words[w + 1] = k
    words[w + 2] = tag
    words[w + 3] = sender
    words[w + 4] = rows
    words[w + 5] = n_data
    words[w + 6] = n_extra
    words[w + 7] = 0
    return w + 1 + HEADER_WORDS, written + record


@kernel(inline=True)
def _publish(control, written):
    fence()  # the record's words before the count that publishes them
    control[WRITTEN] = written


@kernel(inline=True)
def _next(control, words, head):
    """The next published record: its header into ``head``; returns (word where its body starts, the read
    count that frees it), or (-1, 0) if none is published."""
    read = control[READ]
    if control[WRITTEN] == read:
        return -1, 0
    fence()  # the count before the record's words
    cap = control[CAPACITY]
    at = read % cap
    w = at >> 3
    size = words[w]
    if size == SKIP:
        read += cap - at
        w = 0
        size = words[0]
    for i in range(HEADER_WORDS):
        head[i] = words[w + 1 + i]
    return w + 1 + HEADER_WORDS, read + 8 + size


@kernel(inline=True)
def _free(control, read):
    fence()  # the copy before the count that frees its room
    control[READ] = read


@kernel
def put_record(control, words, k, tag, sender, rows, data, extra, n_extra):
    """Append the record of a message (header ``k, tag, sender, rows, data items, n_extra, 0`` and the words of
    ``data`` then ``extra``, 1-D int64) if the buffer has room for it; returns 1 if written, 0 if the reader
    must first take more (the caller has checked that the record fits in an empty buffer)."""
    n_data = data.shape[0]
    record = 8 * (1 + HEADER_WORDS + n_data + extra.shape[0])
    w, written = _begin(control, words, record, k, tag, sender, rows, n_data, n_extra)
    if w < 0:
        return 0
    for i in range(n_data):
        words[w + i] = data[i]
    w += n_data
    for i in range(extra.shape[0]):
        words[w + i] = extra[i]
    _publish(control, written)
    return 1


@kernel
def take_record(control, words, head):
    """Take the next record if one is published: its header into ``head`` (HEADER_WORDS int64) and a copy of
    its body (data then extra) returned; an empty array and ``head[0] = -2`` where none is."""
    start, read = _next(control, words, head)
    if start < 0:
        head[0] = -2
        return np.empty(0, dtype=np.int64)
    n = head[4] + max(head[5], 0)
    body = np.empty(n, dtype=np.int64)
    for i in range(n):
        body[i] = words[start + i]
    _free(control, read)
    return body


@kernel(inline=True)
def _find(keys, x):
    """Position of ``x`` in sorted ``keys``, or -1."""
    lo, hi = 0, keys.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < keys.shape[0] and keys[lo] == x else -1


@kernel
def put_spikes(control, words, k, tag, sender, ids, idx, steps, keys, routed):
    """Append one spike message, the record of :func:`~.framing.frame` for a (2, m) int64 array: m ids, then
    their m steps. Not ``routed`` (the collective): every spike ``i``, as ``ids[idx[i]]`` (the neurons'
    gids). ``routed`` (point-to-point): only the spikes whose ``idx[i]`` is in the sorted ``keys`` (the
    neurons the receiver needs), as ``ids[position in keys]`` (its slots).

    Returns m + 1 once written; 0 if the reader must first take more; minus the record's bytes if the record
    is larger than half the buffer (the caller moves the channel to a larger one and calls again).
    """
    m = 0
    if routed:
        for i in range(idx.shape[0]):
            m += _find(keys, idx[i]) >= 0
    else:
        m = idx.shape[0]
    record = 8 * (1 + HEADER_WORDS + 2 * m)
    if 2 * record > control[CAPACITY]:
        return -record
    w, written = _begin(control, words, record, k, tag, sender, 2, 2 * m, -1)
    if w < 0:
        return 0
    if routed:
        j = 0
        for i in range(idx.shape[0]):
            pos = _find(keys, idx[i])
            if pos >= 0:
                words[w + j] = ids[pos]
                words[w + m + j] = steps[i]
                j += 1
    else:
        for i in range(m):
            words[w + i] = ids[idx[i]]
            words[w + m + i] = steps[i]
    _publish(control, written)
    return m + 1


@kernel
def take_spikes(control, words, k, tag, head, images, first_slot, out_slots, out_steps, n_out):
    """Take the next record if one is published and it is the spike message (``k``, ``tag``): its spikes
    appended to ``out_slots``/``out_steps`` from ``n_out`` as (slot, step); with ``images`` (sorted gids, the
    collective's message of gids) only the spikes of those neurons, as ``first_slot + position``.

    Returns the new count; -1 if no record is published; -2 if the next record is another message (its
    header in ``head``; it stays in the buffer); -3 - m if the m spikes it holds may not fit in the output
    arrays (nothing taken: the caller enlarges them and calls again).
    """
    start, read = _next(control, words, head)
    if start < 0:
        return -1
    if head[0] != k or head[1] != tag or head[3] != 2 or head[5] != -1:
        return -2
    m = head[4] // 2
    if n_out + m > out_slots.shape[0]:
        return -3 - m
    if images.shape[0]:
        for i in range(m):
            pos = _find(images, words[start + i])
            if pos >= 0:
                out_slots[n_out] = first_slot + pos
                out_steps[n_out] = words[start + m + i]
                n_out += 1
    else:
        for i in range(m):
            out_slots[n_out + i] = words[start + i]
            out_steps[n_out + i] = words[start + m + i]
        n_out += m
    _free(control, read)
    return n_out
