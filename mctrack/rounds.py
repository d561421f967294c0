"""Requests from several camera threads gathered into rounds, each served by one call of a batch function.

A model on a GPU costs little more for 8 inputs than for one, and one model object (an ultralytics predictor, a
network) should not be called from several threads at the same time. :class:`Rounds` serves both: camera threads
call :meth:`Rounds.submit` with their item as usual; the first caller of a round waits up to ``max_wait_ms`` for
the other active cameras to submit theirs, then calls ``run(items)`` once, from its own thread, and hands every
caller its result. Only one round runs at a time. Cameras register with :meth:`Rounds.client` so that a round
never waits for a camera that has finished.

When ``run`` raises on a round of several requests, they are run again one by one, so only the camera whose input
fails (or that alone exceeds the memory) gets the exception. KeyboardInterrupt and the like reach every caller of
the round.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

__all__ = ["Rounds", "SharedInRounds"]


class _Request:
    def __init__(self, item: object) -> None:
        self.item = item
        self.result: object = None
        self.error: BaseException | None = None
        self.done = False


class Rounds:
    """See the module docstring. ``run(items) -> results`` (one result per item, in order). ``calls``: rounds run
    so far; ``items``: requests served; ``largest``: the most requests served by one call."""

    def __init__(self, run: Callable[[list], Sequence], *, max_wait_ms: float = 5.0, name: str = "batch") -> None:
        if not (np.isfinite(max_wait_ms) and max_wait_ms >= 0):
            raise ValueError(f"max_wait_ms: must be a finite number >= 0, got {max_wait_ms}")
        self._fn = run
        self.name = name
        self.max_wait = float(max_wait_ms) / 1000.0
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._clients = 0
        self._leading = False
        self.calls = self.items = self.largest = 0

    @contextmanager
    def client(self) -> Iterator[None]:
        """A camera thread takes part in the rounds while inside this context."""
        with self._cond:
            self._clients += 1
        try:
            yield
        finally:
            with self._cond:
                self._clients -= 1
                self._cond.notify_all()  # a leader waiting for this camera stops waiting

    def submit(self, item: object) -> object:
        """``item``'s result, computed in a round together with the other cameras' items."""
        req = _Request(item)
        with self._cond:
            self._pending.append(req)
            self._cond.notify_all()
            while not req.done and self._leading:  # another thread is gathering or computing a round
                self._cond.wait()
            if req.done:
                return self._result(req)
            self._leading = True  # this thread runs the next round, which includes its own request
            batch: list[_Request] = []
            try:
                deadline = time.monotonic() + self.max_wait
                while len(self._pending) < max(self._clients, 1):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._pending = self._pending, []
            finally:
                if not batch:  # interrupted while gathering: the others' requests wait for the next leader
                    self._pending = [r for r in self._pending if r is not req]
                    self._leading = False
                    self._cond.notify_all()
        try:
            self._run(batch)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()
        return self._result(req)

    def _run(self, batch: list[_Request]) -> None:
        try:
            out = list(self._fn([r.item for r in batch]))
            if len(out) != len(batch):
                raise ValueError(f"{self.name}: gave {len(out)} results for {len(batch)} requests")
        except Exception as exc:  # noqa: BLE001 - handed to the callers
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
                return
            for k, r in enumerate(batch):  # one camera's bad input (or a batch too large) must not fail the others
                self._run([r])
                if r.error is not None and not isinstance(r.error, Exception):  # Ctrl-C and the like: for everyone
                    for rest in batch[k + 1 :]:
                        rest.error, rest.done = r.error, True
                    break
            return
        except BaseException as exc:  # KeyboardInterrupt and the like: every caller of the round sees it
            for r in batch:
                r.error, r.done = exc, True
            return
        for r, result in zip(batch, out):
            r.result, r.done = result, True
        self.calls += 1
        self.items += len(batch)
        self.largest = max(self.largest, len(batch))

    @staticmethod
    def _result(req: _Request) -> object:
        if req.error is not None:
            raise req.error
        return req.result


class SharedInRounds:
    """Base of the wrappers that share one model among camera threads through :class:`Rounds` (the batching
    embedder and detector): the wrapped object is ``self.<attr>``, its other attributes (device, weights,
    settings...) read through the wrapper, and ``calls`` / ``largest`` / :meth:`client` are the rounds'."""

    def __init__(self, wrapped: object, attr: str, run: Callable[[list], Sequence], *, max_wait_ms: float) -> None:
        self.__dict__[attr] = wrapped
        self._wrapped_attr = attr
        self.name = getattr(wrapped, "name", type(wrapped).__name__)
        self._rounds = Rounds(run, max_wait_ms=max_wait_ms, name=self.name)

    def __getattr__(self, name: str):
        key = self.__dict__.get("_wrapped_attr")
        if key is None or name == key or name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.__dict__[key], name)

    @property
    def calls(self) -> int:
        return self._rounds.calls

    @property
    def largest(self) -> int:
        return self._rounds.largest

    @contextmanager
    def client(self) -> Iterator[None]:
        """A camera thread takes part in the rounds while inside this context."""
        with self._rounds.client():
            yield
