"""The pure cluster logic: components over merging links, named by their smallest id."""
from __future__ import annotations

from himaya.linking.clusters import changed_members, combined_strength, components, link_merges


def test_components_are_named_by_their_smallest_member() -> None:
    # 9–4–7 chained, 5 alone, 3–8: ids need not arrive in order.
    out = components([9, 4, 7, 5, 3, 8], [(7, 9), (4, 7), (3, 8)])
    assert out == {9: 4, 4: 4, 7: 4, 5: 5, 3: 3, 8: 3}


def test_a_chain_cut_in_the_middle_splits_in_two() -> None:
    members = [1, 2, 3, 4]
    before = components(members, [(1, 2), (2, 3), (3, 4)])
    after = components(members, [(1, 2), (3, 4)])  # the 2–3 link stopped merging
    assert set(before.values()) == {1}
    assert after == {1: 1, 2: 1, 3: 3, 4: 3}
    # Every member's cluster changed, even 1 and 2 whose id did not: the size did.
    assert changed_members(before, after) == {1, 2, 3, 4}


def test_edges_leaving_the_members_are_ignored() -> None:
    assert components([1, 2], [(1, 2), (2, 99)]) == {1: 1, 2: 1}


def test_unchanged_and_departed_members() -> None:
    before = {1: 1, 2: 1, 5: 5}
    assert changed_members(before, {1: 1, 2: 1, 5: 5}) == set()
    # 2 deleted: 1's cluster lost a member, 2 is gone.
    assert changed_members(before, {1: 1, 5: 5}) == {1, 2}


def test_a_separated_pair_never_merges() -> None:
    assert link_merges(0.95, 3, 8, set())
    assert not link_merges(0.95, 8, 3, {(3, 8)})
    assert not link_merges(0.5, 3, 8, set())
    # An IP (0.4) and a file (0.5) together merge; either alone does not.
    assert combined_strength([0.4, 0.5]) == 0.7 and combined_strength([0.5]) == 0.5


def test_a_renamed_cluster_changed() -> None:
    # Its first report deleted, the rest keep together under the next smallest id.
    assert changed_members({2: 1, 3: 1}, {2: 2, 3: 2}) == {2, 3}
