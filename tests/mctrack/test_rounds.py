"""Rounds gathered from camera threads (mctrack.rounds): how long a round waits, for whom, and what each caller
gets back (mutation audit mut105)."""

from __future__ import annotations

import threading
import time

import pytest

from mctrack.rounds import Rounds


def _echo(items):
    return [("done", item) for item in items]


def test_max_wait_ms_zero_is_allowed_and_infinity_is_refused():
    """0 ms is a valid ``max_wait_ms`` (never wait for other cameras; "a finite number >= 0"); an infinite wait would
    hang a round whenever a registered camera stops submitting."""
    rounds = Rounds(_echo, max_wait_ms=0)
    with rounds.client(), rounds.client():  # a second camera that never submits: no wait at all
        assert rounds.submit(1) == ("done", 1)
    for bad in (float("inf"), -1.0, float("nan")):
        with pytest.raises(ValueError, match="max_wait_ms: must be a finite number >= 0"):
            Rounds(_echo, max_wait_ms=bad)


def test_max_wait_is_in_milliseconds_and_defaults_to_5():
    """A leader waits ``max_wait_ms`` milliseconds for a registered camera that does not submit: 200 ms is a fifth of
    a second, not two seconds; the default is the documented 5 ms. (Wide bounds: a loaded CI machine is slow.)"""
    assert Rounds(_echo).max_wait == pytest.approx(0.005)
    rounds = Rounds(_echo, max_wait_ms=200)
    with rounds.client(), rounds.client():  # the other camera is registered but submits nothing
        start = time.monotonic()
        assert rounds.submit("a") == ("done", "a")
        elapsed = time.monotonic() - start
    assert 0.19 <= elapsed < 1.5


def test_a_camera_that_left_is_not_waited_for():
    """A camera that left :meth:`Rounds.client` no longer counts: the remaining camera's round starts at once, even
    with a long ``max_wait_ms``."""
    rounds = Rounds(_echo, max_wait_ms=10000)
    with rounds.client():
        with rounds.client():
            pass  # a second camera came and finished
        start = time.monotonic()
        assert rounds.submit("x") == ("done", "x")
    assert time.monotonic() - start < 5.0


def test_a_leader_waiting_for_a_camera_stops_waiting_when_it_leaves():
    """A leader already waiting for a camera is woken when that camera finishes (leaves the client context), rather
    than sleeping out the whole ``max_wait_ms``."""
    rounds = Rounds(_echo, max_wait_ms=10000)
    inside, leave = threading.Event(), threading.Event()

    def other_camera():
        with rounds.client():
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=other_camera)
    t.start()
    inside.wait(5)
    threading.Timer(0.05, leave.set).start()
    with rounds.client():
        start = time.monotonic()
        assert rounds.submit("y") == ("done", "y")
        elapsed = time.monotonic() - start
    t.join(5)
    assert elapsed < 5.0


def _together(rounds: Rounds, items) -> dict:
    """Every item submitted from its own camera thread at the same moment: item -> ("ok", result) or ("error", exc)."""
    out: dict = {}
    barrier = threading.Barrier(len(items))

    def camera(item) -> None:
        with rounds.client():
            barrier.wait()
            try:
                out[item] = ("ok", rounds.submit(item))
            except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt is what is checked
                out[item] = ("error", exc)

    threads = [threading.Thread(target=camera, args=(i,)) for i in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return out


def test_a_run_that_gives_the_wrong_number_of_results_is_an_error():
    """Results are handed out by position: a ``run`` that gives more or fewer results than requests is a ValueError
    naming the counts, not a shifted or truncated hand-out."""
    with pytest.raises(ValueError, match="batch: gave 2 results for 1 requests"):
        Rounds(lambda items: [1, 2]).submit(0)
    out = _together(Rounds(lambda items: items[:-1], max_wait_ms=2000), ["a", "b"])
    assert {k: v[0] for k, v in out.items()} == {"a": "error", "b": "error"}  # one by one: 0 results for 1 each
    assert all("gave 0 results for 1 requests" in str(v[1]) for v in out.values())


def test_an_interrupt_in_a_round_reaches_every_caller_and_the_round_is_not_rerun():
    """The module docstring: KeyboardInterrupt and the like reach every caller of the round. A caller that got no
    error must not run the round again on its own, after the user pressed Ctrl-C."""
    calls = []

    def run(items):
        calls.append(len(items))
        if len(calls) == 1:
            raise KeyboardInterrupt
        return list(items)

    out = _together(Rounds(run, max_wait_ms=2000), ["a", "b"])
    assert calls == [2]
    assert all(kind == "error" and isinstance(exc, KeyboardInterrupt) for kind, exc in out.values())


def test_an_interrupt_while_rerunning_one_by_one_reaches_the_rest_of_the_round():
    """After a failed round of several requests they are run one by one; a KeyboardInterrupt in the first of those
    reaches the callers not yet run, which are not run after it."""
    calls = []

    def run(items):
        calls.append(len(items))
        if len(items) > 1:
            raise RuntimeError("CUDA out of memory")
        if len(calls) == 2:
            raise KeyboardInterrupt
        return list(items)

    out = _together(Rounds(run, max_wait_ms=2000), ["a", "b", "c"])
    assert calls == [3, 1]
    assert all(kind == "error" and isinstance(exc, KeyboardInterrupt) for kind, exc in out.values())


def test_largest_is_the_most_requests_of_any_round_not_the_last_one():
    """``largest``: the most requests served by one call, kept after smaller rounds; ``calls`` and ``items`` count
    every round and request."""
    rounds = Rounds(_echo, max_wait_ms=2000)
    out = _together(rounds, ["a", "b"])
    assert out == {"a": ("ok", ("done", "a")), "b": ("ok", ("done", "b"))}
    assert rounds.submit("c") == ("done", "c")  # a later round of one (no camera registered)
    assert (rounds.calls, rounds.items, rounds.largest) == (2, 3, 2)


def test_an_interrupt_while_gathering_frees_the_rounds_for_the_next_caller():
    """A leader interrupted while it waits for the other cameras must give up the lead and withdraw its request:
    the next caller runs its own round (not the dead caller's item), instead of waiting forever for a leader."""
    seen = []
    rounds = Rounds(lambda items: seen.append(list(items)) or list(items), max_wait_ms=2000)
    wait = rounds._cond.wait

    def interrupted(timeout=None):
        rounds._cond.wait = wait
        raise KeyboardInterrupt

    rounds._cond.wait = interrupted
    with rounds.client(), rounds.client():  # another camera registered: the leader waits, and is interrupted
        with pytest.raises(KeyboardInterrupt):
            rounds.submit("lost")
    got = []
    t = threading.Thread(target=lambda: got.append(rounds.submit("next")), daemon=True)
    t.start()
    t.join(5)
    assert got == ["next"] and seen == [["next"]]


def test_private_names_are_not_read_through_to_the_wrapped_model():
    """:class:`SharedInRounds` reads the wrapped object's public attributes through the wrapper; underscore names
    stay the wrapper's own (a missing one is an AttributeError, not the wrapped object's internals)."""
    from mctrack.detect import BatchingDetector

    class Model:
        name = "m"
        device = "cpu"
        _state = "internal"

        def __call__(self, frame):
            return frame

    det = BatchingDetector(Model())
    assert det.device == "cpu" and det.name == "m"
    with pytest.raises(AttributeError):
        det._state  # noqa: B018


def test_a_round_starts_as_soon_as_every_camera_has_submitted():
    """Each submission wakes the waiting leader: when every registered camera has submitted, the round runs at once
    rather than after ``max_wait_ms``."""
    rounds = Rounds(_echo, max_wait_ms=10000)
    start = time.monotonic()
    out = _together(rounds, ["a", "b"])
    assert time.monotonic() - start < 5.0
    assert out == {"a": ("ok", ("done", "a")), "b": ("ok", ("done", "b"))} and rounds.calls == 1
