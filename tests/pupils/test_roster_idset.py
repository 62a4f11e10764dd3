"""IdSet: what the roster import remembers across chunks, one bit per database id."""

from pupils.roster_import import IdSet


def test_an_id_set_counts_each_id_once_and_answers_membership():
    ids = IdSet()
    ids.update([1, 8, 9, 8, 1, 10_000_000])
    ids.add(7)

    assert len(ids) == 5
    assert all(i in ids for i in (1, 7, 8, 9, 10_000_000))
    assert not any(i in ids for i in (0, 2, 9_999_999, 10_000_001, 50_000_000))


def test_the_difference_of_two_id_sets_keeps_the_left_ids_not_in_the_right():
    seen, created = IdSet(), IdSet()
    seen.update(range(1, 100))
    created.update([*range(1, 50), 5_000])

    rest = seen - created

    assert len(rest) == 50
    assert 49 not in rest and 50 in rest and 99 in rest and 5_000 not in rest
    assert len(created - seen) == 1
