"""CPU kernels (numba) of the stepping loop: spike delivery and generator input.

All input goes into int64 fixed-point ring buffers in units of 2**-32 pA, so
sums are exact and do not depend on the order in which partitions deliver.
``ring_syn`` has shape (R, 2, n_local) (channel 0 excitatory, 1 inhibitory),
``ring_cur`` (R, n_local); slot ``step % R`` holds the input of update step
``step``. A spike emitted in update step ``n`` through a delay of ``d`` steps
arrives in slot ``n + d`` (NEST's convention).

Synapses of several delays do not write the ring when a spike is delivered:
each such write would land far from the last (another slot, a random
target), one cache miss per synaptic event. They append an *event* to the
log of the slot instead (``log`` (R, capacity) uint64, ``log_count`` (R,)),
and :func:`apply_log` adds a slot's events just before the update step that
reads it: a slot's events then fall into one row of the ring, which stays in
cache. Integer sums do not depend on the order, so the spikes are the same.
"""

from __future__ import annotations

import numpy as np

from ..randomness.rng import GAMMA, uniform1
from ..support.jit import array_at, kernel, prefetch

__all__ = ["deliver_uniform", "deliver_weighted", "deliver_table", "apply_log", "poisson_input", "poisson_runs",
           "current_input", "word", "put_word", "FIXED_SCALE", "TABLE_COLUMNS", "LOG_TARGET_LIMIT"]

#: fixed-point scale of the ring buffers: 1 pA = 2**32 units
FIXED_SCALE = 2.0**32

#: delivery through several delays writes each synapse into a ring cell far from the last one (another
#: slot, a random target): a cache miss each. The kernels prefetch the cell of the synapse this many
#: places further on, so that many misses are in flight at once (measured on a microcircuit partition
#: at full in-degree: 41 -> ~20 ns per event; 32-64 are equally good, 8 half as good)
PREFETCH_AHEAD = 48

_G = np.uint64(GAMMA)
_ONE = np.uint64(1)
_S16 = np.uint64(16)
_M16 = np.uint64(0xFFFF)
_NO_WEIGHTS = np.zeros(0, dtype=np.float32)
_S32 = np.uint64(32)
_TARGET_BITS = np.uint64(0x7FFFFFFF)
_COMMON_WEIGHT = np.uint64(0x80000000)

#: a logged event packs its target in bits 0-30, so partitions of more neurons deliver straight to the ring
LOG_TARGET_LIMIT = 1 << 31


@kernel(inline=True)
def word(packed, packed_hi, j):
    """Packed synapse word ``j``: ``packed[j]``, with ``packed_hi[j]`` as bits 16-23 if it is not empty."""
    if packed_hi.shape[0]:
        return np.uint64(packed[j]) | (np.uint64(packed_hi[j]) << _S16)
    return np.uint64(packed[j])


@kernel(inline=True)
def put_word(packed, packed_hi, j, word):
    """Store ``word`` as packed synapse ``j`` (the inverse of :func:`word`)."""
    if packed_hi.shape[0]:
        packed[j] = word & _M16
        packed_hi[j] = word >> _S16
    else:
        packed[j] = word


@kernel
def deliver_uniform(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, wfix, ring):
    """Deliver spikes through synapses that share one weight ``wfix`` (fixed point).

    ``slots``/``steps``: presynaptic slot and emission step of each spike.
    Synapses of slot s are ``row_ptr[s] .. row_ptr[s+1]-1``; each packs the
    target (``p >> shift``) and the delay in steps (``d0 + (p & dmask)``)
    in one word (see :func:`word`: 16, 24, 32 or 64 bits).
    """
    R = ring.shape[0]
    ch = 0 if wfix > 0 else 1
    shift, dmask = np.uint64(shift), np.uint64(dmask)
    if dmask == 0:  # one delay: each spike adds to one row of the ring
        for i in range(slots.shape[0]):
            s = slots[i]
            slot = steps[i] % R + d0
            row = ring[slot - R if slot >= R else slot, ch]
            for j in range(row_ptr[s], row_ptr[s + 1]):
                row[np.int64(word(packed, packed_hi, j) >> shift)] += wfix
        return
    _deliver_rows(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, wfix, _NO_WEIGHTS, ring)


@kernel
def deliver_weighted(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, weights, ring):
    """As :func:`deliver_uniform` with one float32 weight (pA) per synapse.

    A float32 times 2**32 is exact in float64, so the fixed-point value is
    exact too.
    """
    _deliver_rows(slots, steps, row_ptr, packed, packed_hi, np.uint64(shift), np.uint64(dmask), d0, 0, weights,
                  ring)


@kernel(inline=True)
def _cell(p, base, d0, dmask, shift, R):
    """(ring slot, target) of the packed synapse ``p`` of a spike whose emission step has slot ``base``."""
    slot = base + d0 + np.int64(p & dmask)
    return (slot - R if slot >= R else slot), np.int64(p >> shift)


@kernel(inline=True)
def _fixed(weights, j, wfix):
    """Synapse ``j``'s weight in fixed point: its float32 weight, or ``wfix`` where there are none."""
    return np.int64(np.float64(weights[j]) * 4294967296.0) if weights.shape[0] else wfix


@kernel(inline=True)
def _next_synapse(slots, row_ptr, i, j, end):
    """The synapse after synapse ``j`` of spike ``i`` (whose row ends at ``end``) in delivery order:
    (spike, synapse, end of its row); ``j >= end`` once past the last spike's row."""
    j += 1
    while j >= end and i + 1 < slots.shape[0]:
        i += 1
        j, end = row_ptr[slots[i]], row_ptr[slots[i] + 1]
    return i, j, end


@kernel(inline=True)
def _deliver_rows(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, wfix, weights, ring):
    """Delivery through rows of several delays: each synapse writes a ring cell far from the last one
    (another slot, a random target), so the cell of the synapse :data:`PREFETCH_AHEAD` places on in
    delivery order (across rows: rows are short when there are many projections) is prefetched, keeping
    many cache misses in flight."""
    R = ring.shape[0]
    flat = ring.reshape(-1)
    n_local = ring.shape[2]
    if slots.shape[0] == 0:
        return
    ia, ja, ea = _next_synapse(slots, row_ptr, 0, row_ptr[slots[0]] - 1, row_ptr[slots[0] + 1])
    for _ in range(PREFETCH_AHEAD):
        ia, ja, ea = _next_synapse(slots, row_ptr, ia, ja, ea)
    for i in range(slots.shape[0]):
        s = slots[i]
        base = steps[i] % R
        for j in range(row_ptr[s], row_ptr[s + 1]):
            if ja < ea:
                slot, target = _cell(word(packed, packed_hi, ja), steps[ia] % R, d0, dmask, shift, R)
                w = _fixed(weights, ja, wfix)
                prefetch(flat, (slot * 2 + (0 if w > 0 else 1)) * n_local + target)
                ia, ja, ea = _next_synapse(slots, row_ptr, ia, ja, ea)
            slot, target = _cell(word(packed, packed_hi, j), base, d0, dmask, shift, R)
            w = _fixed(weights, j, wfix)
            ring[slot, 0 if w > 0 else 1, target] += w


@kernel
def sort_rows_by_delay(row_ptr, packed, packed_hi, dmask, weights):
    """Order each row's synapses by delay, in place and stably (within a delay, the order they had):
    a spike's synapses of one delay are then consecutive, logged as one run (:func:`_log_rows`). The
    words move with their ``packed_hi`` bytes and their ``weights`` (float32 or empty). Returns the number
    of rows that were not in order already."""
    dmask = np.uint64(dmask)
    n_rows = row_ptr.shape[0] - 1
    longest = 0
    for s in range(n_rows):
        longest = max(longest, np.int64(row_ptr[s + 1] - row_ptr[s]))
    D = np.int64(dmask) + 1
    counts = np.zeros(D + 1, dtype=np.int64)
    keys = np.empty(longest, dtype=np.int64)  # a synapse's delay, then its place in the sorted row
    words = np.empty(longest, dtype=np.uint64)
    held = np.empty(longest if weights.shape[0] else 0, dtype=weights.dtype)
    moved = 0
    for s in range(n_rows):
        a, b = np.int64(row_ptr[s]), np.int64(row_ptr[s + 1])
        n = b - a
        for j in range(n):
            words[j] = word(packed, packed_hi, a + j)
            keys[j] = np.int64(words[j] & dmask)
        ordered = True
        for j in range(1, n):
            if keys[j] < keys[j - 1]:
                ordered = False
                break
        if ordered:
            continue
        moved += 1
        if D <= 4 * n:  # counting sort: a pass over the delays' counts costs little beside the row
            counts[:] = 0
            for j in range(n):
                counts[keys[j] + 1] += 1
            for d in range(D):
                counts[d + 1] += counts[d]
            # places first, then each array in a loop of its own: stores into the arrays between the
            # counts' loads and stores, or into two arrays in one loop, made the sort ~7x slower
            for j in range(n):
                k = keys[j]
                keys[j] = counts[k]
                counts[k] += 1
        else:  # a short row among many delays: sort (delay, place) pairs, unique, so stable
            order = np.argsort((keys[:n] << 32) | np.arange(n))
            for j in range(n):
                keys[order[j]] = j
        if packed_hi.shape[0]:  # each array in a loop of its own (see above)
            for j in range(n):
                packed[a + keys[j]] = words[j] & _M16
            for j in range(n):
                packed_hi[a + keys[j]] = words[j] >> _S16
        else:
            for j in range(n):
                packed[a + keys[j]] = words[j]
        if weights.shape[0]:
            held[:n] = weights[a:b]
            for j in range(n):
                weights[a + keys[j]] = held[j]
    return moved


@kernel(inline=True)
def _log_rows(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, group, weights, wfix, log, log_count,
              ring):
    """Log the events of rows of several delays (see the module's docstring): an event is the target in
    bits 0-30 and, in bits 32-63, the synapse's float32 weight, or with bit 31 set the index of the group
    whose common weight it has. Rows are ordered by delay (:func:`sort_rows_by_delay`), so a row is a few
    runs of one slot each, appended one after the other. A slot whose log is full takes its events
    straight into the ring. Returns the number of those."""
    R = ring.shape[0]
    capacity = log.shape[1]
    common = (np.uint64(group) << _S32) | _COMMON_WEIGHT
    direct = 0
    for i in range(slots.shape[0]):
        s = slots[i]
        base = steps[i] % R
        j, end = np.int64(row_ptr[s]), np.int64(row_ptr[s + 1])
        while j < end:
            p = word(packed, packed_hi, j)
            delay = p & dmask
            slot, target = _cell(p, base, d0, dmask, shift, R)
            c = log_count[slot]
            while True:
                if c < capacity:
                    if weights.shape[0]:
                        log[slot, c] = np.uint64(target) | (np.uint64(np.float32(weights[j]).view(np.uint32)) << _S32)
                    else:
                        log[slot, c] = np.uint64(target) | common
                    c += 1
                else:
                    w = _fixed(weights, j, wfix)
                    ring[slot, 0 if w > 0 else 1, target] += w
                    direct += 1
                j += 1
                if j == end:
                    break
                p = word(packed, packed_hi, j)
                if p & dmask != delay:
                    break
                target = np.int64(p >> shift)
            log_count[slot] = c
    return direct


@kernel
def apply_log(first_step, n_steps, log, log_count, common_wfix, ring):
    """Add the logged events of update steps ``first_step .. first_step+n_steps-1`` to their ring slots and
    empty those logs. ``common_wfix[g]`` is group ``g``'s common weight (fixed point)."""
    R = ring.shape[0]
    for step in range(first_step, first_step + n_steps):
        slot = step % R
        row = ring[slot]
        cells = row.reshape(-1)
        if log_count[slot] * 4 > cells.shape[0] // 8:
            for c in range(0, cells.shape[0], 8):
                prefetch(cells, c)
        for k in range(log_count[slot]):
            e = log[slot, k]
            target = np.int64(e & _TARGET_BITS)
            if e & _COMMON_WEIGHT:
                w = common_wfix[np.int64(e >> _S32)]
            else:
                w = np.int64(np.float64(np.uint32(e >> _S32).view(np.float32)) * 4294967296.0)
            row[0 if w > 0 else 1, target] += w
        log_count[slot] = 0


#: columns of a partition's synapse table (:func:`deliver_table`), one row per synapse group
TABLE_COLUMNS = ("group", "row_ptr", "n_rows", "packed", "packed_hi", "weights", "n", "shift", "dmask", "d0",
                 "wfix")


@kernel
def deliver_table(slots, steps, slot_groups_ptr, slot_groups, table, like_rows, like_words, log, log_count,
                  direct, ring):
    """Deliver spikes through every synapse group of a partition in one call.

    ``table`` has a row per group (:data:`TABLE_COLUMNS`): its index, the
    host addresses and lengths of its arrays (``packed_hi``/``weights`` 0
    where it has none) and its packing; all its groups have row pointers
    of ``like_rows``'s dtype and words of ``like_words``'s. Only the groups
    that some spike's slot ``s`` reaches are visited: those listed at
    ``slot_groups[slot_groups_ptr[s] .. slot_groups_ptr[s+1]-1]``. Groups of
    one delay write the ring; groups of several append to the log (a log of
    capacity 0 is not used), and ``direct[0]`` counts the events that found
    their slot's log full. Returns the number of synaptic events delivered.
    """
    n_groups = 0
    for g in range(table.shape[0]):
        n_groups = max(n_groups, table[g, 0] + 1)
    hit = np.zeros(n_groups, dtype=np.bool_)
    for i in range(slots.shape[0]):
        s = slots[i]
        for q in range(slot_groups_ptr[s], slot_groups_ptr[s + 1]):
            if slot_groups[q] < n_groups:
                hit[slot_groups[q]] = True
    hi_like, w_like = np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.float32)
    events = 0
    for g in range(table.shape[0]):
        if not hit[table[g, 0]]:
            continue
        n = table[g, 6]
        row_ptr = array_at(like_rows, table[g, 1], table[g, 2])
        packed = array_at(like_words, table[g, 3], n)
        packed_hi = array_at(hi_like, table[g, 4], n if table[g, 4] else 0)
        weights = array_at(w_like, table[g, 5], n if table[g, 5] else 0)
        shift, dmask, d0, wfix = np.uint64(table[g, 7]), np.uint64(table[g, 8]), table[g, 9], table[g, 10]
        for i in range(slots.shape[0]):
            events += row_ptr[slots[i] + 1] - row_ptr[slots[i]]
        if weights.shape[0] == 0 and dmask == 0:
            deliver_uniform(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, wfix, ring)
        elif dmask == 0 or log.shape[1] == 0:
            _deliver_rows(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, wfix, weights, ring)
        else:
            direct[0] += _log_rows(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, table[g, 0],
                                   weights, wfix, log, log_count, ring)
    return events


@kernel(inline=True)
def _search_on(table, k, top, u):
    """The count of a Poisson draw ``u`` from candidate ``k`` on: the number of table entries <= u, at most
    ``top`` (the table's last index)."""
    while k < top and u >= table[k]:
        k += 1
    return k


@kernel
def poisson_input(first_step, n_steps, target, wfix, delay, gen, stream, active_lo, active_hi,
                  cdf, cdf_start, cdf_len, guide, ring):
    """Independent Poisson input for each connection of a poisson_generator.

    The count of connection c emitted at step n is drawn by inversion of the
    generator's cumulative table from the 53-bit uniform
    ``mix(stream[c] + (n+1)*GAMMA)`` (== ``rng.bits(k, key_c, n)``), so it
    depends only on the seed, the synapse key and the step. The search starts
    at ``guide[g, floor(u * G)]``, the count of table entries <= that bucket's
    lower edge (Chen & Asau's guide table: exact, and almost always final).

    Steps ``first_step .. first_step+n_steps-1`` are *arrival* steps: the
    count that arrives at step ``a`` through a delay of ``d`` steps is the one
    emitted at step ``a - d`` (none before step 0), drawn now. It adds the same
    as drawing at emission, into the ring row that the update reads next,
    while that row is in cache.
    """
    n_guide = guide.shape[1]
    R = ring.shape[0]
    n_conn = target.shape[0]
    for a in range(first_step, first_step + n_steps):
        slot = a % R
        c = 0
        while c < n_conn:  # runs of connections of one generator share its table
            g = gen[c]
            c_end = c + 1
            while c_end < n_conn and gen[c_end] == g:
                c_end += 1
            top = cdf_len[g] - 1
            table = cdf[cdf_start[g]:cdf_start[g] + cdf_len[g]]
            first = guide[g]
            for cc in range(c, c_end):
                n = a - delay[cc]
                if n < 0 or not active_lo[g] <= n < active_hi[g]:
                    continue
                u = uniform1(stream[cc] + (np.uint64(n) + _ONE) * _G)
                k = _search_on(table, first[np.int64(u * n_guide)], top, u)
                w = wfix[cc]
                ring[slot, 0 if w > 0 else 1, target[cc]] += k * w  # k == 0 adds nothing
            c = c_end


#: connections of a run drawn together by :func:`poisson_runs`: its passes over them stay in the L1 cache
POISSON_CHUNK = 512


@kernel
def poisson_runs(first_step, n_steps, run_start, run_end, run_gen, run_target, run_delay, run_channel, wfix,
                 stream, active_lo, active_hi, cdf, cdf_start, cdf_len, guide, threshold, several, compared, ring):
    """:func:`poisson_input` (the same counts, bit for bit) over *runs*: connections ``run_start[r] ..
    run_end[r]-1`` share a generator, a delay and a ring channel, and their targets are consecutive from
    ``run_target[r]``, so a step of a run draws and adds into one stretch of one ring row. Steps are
    arrival steps, as there.

    A count is the number of table entries <= u (at most the table's last index), found in one of two ways:

    - a short table (``compared[g]`` > 0 entries hold all but a sliver of the probability): the count of
      those entries that u reaches, summed entry by entry over the whole run (loops the compiler
      vectorises), then a scalar search past them for the few u beyond;
    - else the guide table in one step, ``guide[g, b] + (u >= threshold[g, b])`` with ``threshold[g, b]``
      the entry at the guide, exact unless bucket ``b`` holds several entries (``several[g, b]``, the far
      tail only), which a scalar search corrects.
    """
    n_guide = guide.shape[1]
    R = ring.shape[0]
    counts = np.empty(POISSON_CHUNK, dtype=np.int64)
    uniforms = np.empty(POISSON_CHUNK, dtype=np.float64)
    flagged = np.empty(POISSON_CHUNK + 1, dtype=np.int64)  # connections whose bucket holds several entries
    flat = ring.reshape(-1)  # C-contiguous: a run's stretch is flat[at + c]
    n_local = ring.shape[2]
    for a in range(first_step, first_step + n_steps):
        slot = a % R
        for r in range(run_start.shape[0]):
            g = run_gen[r]
            n = a - run_delay[r]  # the emission step
            if n < 0 or not active_lo[g] <= n < active_hi[g]:
                continue
            salt = (np.uint64(n) + _ONE) * _G
            at = (slot * 2 + run_channel[r]) * n_local + run_target[r] - run_start[r]
            table = cdf[cdf_start[g]:cdf_start[g] + cdf_len[g]]
            top = cdf_len[g] - 1
            m_cmp = compared[g]
            for start in range(run_start[r], run_end[r], POISSON_CHUNK):  # a chunk's arrays stay in L1
                end = min(start + POISSON_CHUNK, run_end[r])
                length = end - start
                if m_cmp > 0:
                    for i in range(length):
                        uniforms[i] = uniform1(stream[start + i] + salt)
                        counts[i] = 0
                    for m in range(m_cmp):
                        entry = table[m]
                        for i in range(length):
                            counts[i] += np.int64(uniforms[i] >= entry)
                    for i in range(length):
                        if counts[i] == m_cmp:  # u reached every compared entry: search on from there
                            counts[i] = _search_on(table, m_cmp, top, uniforms[i])
                else:
                    first, bound, rare = guide[g], threshold[g], several[g]
                    n_flagged = 0
                    for c in range(start, end):
                        u = uniform1(stream[c] + salt)
                        b = np.int64(u * n_guide)
                        counts[c - start] = first[b] + np.int64(u >= bound[b])
                        flagged[n_flagged] = c  # kept only where the bucket is flagged (no branch)
                        n_flagged += rare[b]
                    for f in range(n_flagged):
                        c = flagged[f]
                        u = uniform1(stream[c] + salt)
                        counts[c - start] = _search_on(table, first[np.int64(u * n_guide)], top, u)
                for c in range(start, end):
                    flat[at + c] += counts[c - start] * wfix[c]


@kernel
def current_input(first_step, n_steps, target, value, delay, gen, active_lo, active_hi, ring_cur):
    """Constant currents (fixed point ``value`` per connection) while their generator is active."""
    R = ring_cur.shape[0]
    last = first_step + n_steps
    for c in range(target.shape[0]):
        g = gen[c]
        for n in range(max(first_step, active_lo[g]), min(last, active_hi[g])):
            ring_cur[(n + delay[c]) % R, target[c]] += value[c]
