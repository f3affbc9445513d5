"""The exchange's id maps: what a receiver needs from each owner, and the send maps made from it."""

from __future__ import annotations

import numpy as np

from dsnn.exchange.maps import filter_images, needs_by_owner, route, send_map


def test_needs_by_owner_splits_the_images_by_owner_keeping_gid_order_and_slots():
    """Owners interleaved in gid order (as populations split over partitions make them): every image lands
    with its owner, sorted, with its own slot; owners without images are absent."""
    rng = np.random.default_rng(7)
    gids = np.unique(rng.integers(0, 10**6, 4000))
    owners = rng.choice([0, 2, 3, 9], size=gids.shape[0])
    needs = needs_by_owner(gids, 100, owners)
    assert sorted(needs) == [0, 2, 3, 9]
    for owner, (g, slots) in needs.items():
        assert np.array_equal(g, gids[owners == owner])
        assert np.array_equal(slots, 100 + np.flatnonzero(owners == owner))
    assert needs_by_owner(gids[:0], 0, owners[:0]) == {}


def test_a_send_map_routes_each_needed_spike_to_the_receivers_slot_and_the_filter_agrees():
    """Sender gids 10..19; the receiver needs 12, 15 and 19 in its slots 7, 8, 9: spikes of 12 and 19 (local
    indices 2 and 9) reach slots 7 and 9 with their steps, that of 15 (index 5) slot 8, that of 10 nothing; the
    collective's filter over the receiver's images gives the same."""
    sender = np.arange(10, 20)
    m = send_map(sender, 1, np.array([12, 15, 19]), np.array([7, 8, 9]))
    slots, steps = route(m, np.array([0, 2, 5, 9]), np.array([3, 4, 5, 6]))
    assert slots.tolist() == [7, 8, 9] and steps.tolist() == [4, 5, 6]
    slots, steps = route(m, np.array([0, 1]), np.array([3, 4]))
    assert slots.shape == (0,) and steps.shape == (0,)
    slots, steps = filter_images(np.array([12, 15, 19]), 7, sender[[0, 2, 5, 9]], np.array([3, 4, 5, 6]))
    assert slots.tolist() == [7, 8, 9] and steps.tolist() == [4, 5, 6]
