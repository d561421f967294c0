"""Linkers: tracklets of all cameras -> :class:`~mctrack.types.Identities` (the only writers of global ids).

- :class:`OfflineLinker` (recorded video, after every camera finished): constrained agglomerative clustering.
  Every tracklet starts as its own cluster; the two closest clusters merge while their distance is at most
  ``thresh``. Cluster distance is the ``average`` (or ``complete``: largest) of the pairwise tracklet distances,
  and a forbidden pair (``inf``, see :mod:`mctrack.link.constraints`) makes the whole merge forbidden, so two
  tracklets of one camera that overlap in time never end up in one identity.
- :class:`OnlineLinker` (live streams): a tracklet gets its global id when it matures (``min_len`` frames): it
  joins the existing identity whose gallery (the summaries of its tracklets) is closest by the same linkage, if
  within ``thresh`` and allowed by the constraints, else it founds a new identity. Ids never change afterwards.
  A tracklet that ends before maturing is assigned at its end. :meth:`OnlineLinker.link` replays recorded
  tracklets in time order.

Results do not depend on the order cameras are listed or processed: tracklets are sorted canonically
(camera id, local id) and online events by (time, camera id, local id) before anything is decided, and global ids
are numbered by first appearance (time, camera id, local id).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..registry import LINKERS
from ..types import Identities, Tracklet
from .constraints import LinkConstraints, TrackletTable, candidate_pairs, cross_distances, pairwise_distances

__all__ = [
    "Linker",
    "OfflineLinker",
    "OnlineLinker",
    "agglomerate",
    "canonical_order",
    "LINKAGES",
    "identities_from_labels",
    "singleton_identities",
]

LINKAGES = ("average", "complete")


@runtime_checkable
class Linker(Protocol):
    """Joins tracklets of all cameras into global identities."""

    def link(self, tracklets: Sequence[Tracklet]) -> Identities: ...


def canonical_order(tracklets: Sequence[Tracklet]) -> list[int]:
    """Indices sorting tracklets by (camera id, local id); duplicate keys are an error."""
    keys = [(t.camera, int(t.track_id)) for t in tracklets]
    if len(set(keys)) != len(keys):
        raise ValueError("tracklets: each (camera, track_id) may appear only once")
    return sorted(range(len(keys)), key=keys.__getitem__)


def _check(thresh: float, linkage: str, min_len: int = 1) -> None:
    if not np.isfinite(thresh) or thresh < 0:
        raise ValueError(f"thresh: must be a finite number >= 0, got {thresh}")
    if linkage not in LINKAGES:
        raise ValueError(f"linkage: must be one of {', '.join(LINKAGES)}, got {linkage!r}")
    if min_len < 1:
        raise ValueError(f"min_len: must be >= 1, got {min_len}")


def agglomerate(dist: np.ndarray, thresh: float, linkage: str = "average") -> np.ndarray:
    """Cluster labels ``(N,)`` (0..K-1 by first member) of constrained agglomerative clustering.

    ``dist`` is a symmetric ``(N, N)`` matrix with ``inf`` for pairs that must not share a cluster. Clusters merge
    while the closest pair is within ``thresh``; ties go to the lowest indices, so the result is deterministic.
    """
    _check(thresh, linkage)
    d = np.array(dist, np.float64)
    n = len(d)
    if d.shape != (n, n):
        raise ValueError(f"dist: expected a square matrix, got shape {d.shape}")
    labels = np.arange(n)
    if n < 2:
        return labels
    d[np.isnan(d)] = np.inf
    np.fill_diagonal(d, np.inf)
    size = np.ones(n)
    while True:
        flat = int(np.argmin(d))
        i, j = divmod(flat, n)
        if not d[i, j] <= thresh:
            break
        i, j = min(i, j), max(i, j)
        if linkage == "average":
            with np.errstate(invalid="ignore"):
                new = (size[i] * d[i] + size[j] * d[j]) / (size[i] + size[j])
        else:
            new = np.maximum(d[i], d[j])
        new[i] = np.inf
        d[i, :] = new
        d[:, i] = new
        d[j, :] = np.inf
        d[:, j] = np.inf
        size[i] += size[j]
        labels[labels == j] = i
    _, out = np.unique(labels, return_inverse=True)
    return out


def identities_from_labels(tracklets: Sequence[Tracklet], labels: Sequence[int]) -> Identities:
    """Identities with global ids 1..K numbered by each cluster's first appearance (time, camera, local id)."""
    labels = np.asarray(labels)
    first: dict[int, tuple[float, str, int]] = {}
    for t, lab in zip(tracklets, labels.tolist()):
        key = (t.first_time, t.camera, int(t.track_id))
        if lab not in first or key < first[lab]:
            first[lab] = key
    gid = {lab: k + 1 for k, lab in enumerate(sorted(first, key=first.__getitem__))}
    order = canonical_order(tracklets)
    return Identities(
        np.array([tracklets[i].camera for i in order], dtype=object),
        np.array([tracklets[i].track_id for i in order], np.int64),
        np.array([gid[int(labels[i])] for i in order], np.int64),
    )


def singleton_identities(tracklets: Sequence[Tracklet]) -> Identities:
    """Every tracklet its own global id (motion-only runs: no linking)."""
    return identities_from_labels(tracklets, np.arange(len(tracklets)))


class OfflineLinker:
    """Constrained agglomerative clustering of all tracklets (see the module docstring).

    Args:
        thresh: largest cluster distance that is still merged. Lower values split people into more identities
            (safer), higher values merge more (and risk joining different people). Depends on the embedder: the
            default 0.5 is the trained networks' (centred features); each embedder's own value is its
            ``link_thresh`` fact (``mctrack.registry.EMBEDDERS.facts(name)``; colour histograms: 0.1).
        linkage: ``average`` (robust to one odd tracklet) or ``complete`` (every pair must be close: stricter).
        constraints: cannot-link rules and ground-plane agreement.
        min_len: tracklets with fewer frames are not linked (each keeps its own id): short tracklets are often
            false positives or fragments whose appearance is unreliable.
    """

    def __init__(
        self,
        *,
        thresh: float = 0.5,
        linkage: str = "average",
        constraints: LinkConstraints | None = None,
        min_len: int = 1,
    ) -> None:
        _check(thresh, linkage, min_len)
        self.thresh, self.linkage, self.min_len = float(thresh), linkage, int(min_len)
        self.constraints = constraints or LinkConstraints()

    def link(self, tracklets: Sequence[Tracklet]) -> Identities:
        """Identities of ``tracklets``, computed group by group (see :meth:`groups`): the same result as one
        clustering of the full ``(N, N)`` distance matrix, in memory and time that grow with the groups' sizes."""
        order = canonical_order(tracklets)
        ts = [tracklets[i] for i in order]
        long = [i for i, t in enumerate(ts) if len(t) >= self.min_len]
        labels = np.arange(len(ts))
        offset = len(ts)  # each group's cluster labels after every earlier one's: labels never collide
        for group in self.groups([ts[i] for i in long]):
            members = [long[i] for i in group]
            sub = agglomerate(pairwise_distances([ts[i] for i in members], self.constraints), self.thresh, self.linkage)
            labels[members] = sub + offset
            offset += len(members)
        return identities_from_labels(ts, labels)

    def groups(self, tracklets: Sequence[Tracklet]) -> list[list[int]]:
        """Index groups (each sorted, of two or more) outside which no tracklet can share an identity.

        A cluster that merges at distance <= thresh has at least one pair within thresh (average and complete
        linkage alike), so every final cluster is connected in the graph of pairs within thresh; that graph is
        a subgraph of :func:`~mctrack.link.constraints.candidate_pairs`' graph. Clustering each connected
        component of the candidate graph alone therefore gives exactly the full clustering (merges in different
        components never interact, and within one the order of indices, hence tie-breaking, is kept).
        """
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        n = len(tracklets)
        if n < 2:
            return []
        i, j = candidate_pairs(tracklets, self.thresh, self.constraints)
        graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        order = np.argsort(comp, kind="stable")
        bounds = np.flatnonzero(np.diff(comp[order])) + 1
        return [g.tolist() for g in np.split(order, bounds) if len(g) > 1]


class OnlineLinker:
    """Global ids assigned as tracklets mature; galleries of identities grow (see the module docstring).

    ``assign(tracklet, now)`` when a tracklet matures (returns its global id), ``update(tracklet, finished)`` when
    more of it is known or it ends, ``identities()`` for the ids so far, ``reset()``; ``link(tracklets, matured)``
    replays recorded tracklets.

    The gallery a maturing tracklet is compared with is bounded, so a live run's linker does not grow without end:
    a finished tracklet leaves the gallery once it ended more than ``gallery_age_s`` seconds ago, and when more
    than ``max_gallery`` tracklets are held the finished ones that ended first leave until it fits (running ones
    always stay). Its global id is kept (``identities()`` lists every tracklet ever assigned, a few bytes each);
    only its appearance and positions are forgotten, so a person who returns after that gets a new id.

    Args:
        thresh: largest distance between a maturing tracklet and an identity's gallery for it to join.
        linkage: ``average`` or ``complete`` over the identity's tracklets (as offline).
        constraints: cannot-link rules and ground-plane agreement.
        min_len: frames a tracklet needs before it gets a global id; longer waits give steadier appearance
            summaries but later ids.
        gallery_age_s: seconds a finished tracklet stays comparable after it ended (``None``: for ever).
        max_gallery: most tracklets held for comparison (``None``: no limit).
    """

    def __init__(
        self,
        *,
        thresh: float = 0.5,
        linkage: str = "average",
        constraints: LinkConstraints | None = None,
        min_len: int = 10,
        gallery_age_s: float | None = 600.0,
        max_gallery: int | None = 2000,
    ) -> None:
        _check(thresh, linkage, min_len)
        if gallery_age_s is not None and not gallery_age_s > 0:
            raise ValueError(f"gallery_age_s: must be > 0 seconds or None, got {gallery_age_s}")
        if max_gallery is not None and (int(max_gallery) != max_gallery or max_gallery < 1):
            raise ValueError(f"max_gallery: must be an integer >= 1 or None, got {max_gallery}")
        self.thresh, self.linkage, self.min_len = float(thresh), linkage, int(min_len)
        self.gallery_age_s = None if gallery_age_s is None else float(gallery_age_s)
        self.max_gallery = None if max_gallery is None else int(max_gallery)
        self.constraints = constraints or LinkConstraints()
        self.reset()

    def reset(self) -> None:
        # gallery: key -> tracklet, in assignment order (whether it runs and its id: the arrays below);
        # _gids: every assignment ever made
        self._gallery: dict[tuple[str, int], Tracklet] = {}
        self._gids: dict[tuple[str, int], int] = {}
        self._next = 1
        # the gallery as arrays (rows in assignment order; freed rows are compacted away now and then), so that a
        # new tracklet is compared with it without re-stacking every member's appearance
        self._row: dict[tuple[str, int], int] = {}
        self._keys: list[tuple[str, int] | None] = []
        self._table = TrackletTable(
            np.zeros((0, 1), np.float32), *(np.zeros(0, t) for t in (bool, object, float, float))
        )
        self._alive = np.zeros(0, bool)
        self._gid = np.zeros(0, np.int64)
        self._used = np.zeros(0, bool)

    def __len__(self) -> int:
        """Tracklets in the gallery now."""
        return len(self._gallery)

    def global_id(self, camera: str, track_id: int) -> int | None:
        """The global id given to a tracklet, or None when it has none yet."""
        return self._gids.get((str(camera), int(track_id)))

    def assign(self, tracklet: Tracklet, now: float | None = None) -> int:
        """The global id of a newly matured tracklet (fixed from now on)."""
        key = (tracklet.camera, int(tracklet.track_id))
        if key in self._gids:
            return self._gids[key]
        now = tracklet.last_time if now is None else float(now)
        self._forget(now)
        gid = 0
        if self._gallery:
            n, t = len(self._keys), self._table
            rows = np.flatnonzero(self._used[:n])
            # views of the first n rows (no copy of the gallery per call); rows no longer in use are dropped after
            table = TrackletTable(t.mean[:n], t.has[:n], t.camera[:n], t.first[:n], t.last[:n])
            members = (
                [self._gallery[k] if k is not None else tracklet for k in self._keys]
                if self.constraints.homographies
                else ()
            )
            d = cross_distances([tracklet], members, self.constraints, b_alive=self._alive[:n], now=now, b_table=table)[
                0
            ][rows]
            gids = self._gid[rows]
            if self.linkage == "average":
                with np.errstate(invalid="ignore"):
                    score = np.bincount(gids, weights=d) / np.maximum(np.bincount(gids), 1)
            else:
                score = np.full(gids.max() + 1, -np.inf)
                np.maximum.at(score, gids, d)
            score[np.bincount(gids, minlength=len(score)) == 0] = np.inf  # ids without members (id 0)
            score[np.isnan(score)] = np.inf
            g = int(np.argmin(score))  # ties go to the older identity
            if score[g] <= self.thresh:
                gid = g
        if gid == 0:
            gid, self._next = self._next, self._next + 1
        self._gallery[key] = tracklet
        self._gids[key] = gid
        self._add_row(key, tracklet, gid)
        return gid

    def update(self, tracklet: Tracklet, finished: bool = True) -> None:
        """Replace what is known of an assigned tracklet (its gallery entry); ``finished`` when it has ended. A
        tracklet that already left the gallery stays out of it."""
        key = (tracklet.camera, int(tracklet.track_id))
        if key not in self._gids:
            raise KeyError(f"tracklet {key}: not assigned yet")
        if key in self._gallery:
            self._gallery[key] = tracklet
            self._fill_row(self._row[key], tracklet, not finished)

    # -- the gallery's arrays ----------------------------------------------------------------------------------

    def _add_row(self, key: tuple[str, int], tracklet: Tracklet, gid: int) -> None:
        n, t = len(self._keys), self._table
        dim = tracklet.mean_embedding.shape[0] if tracklet.mean_embedding is not None else t.mean.shape[1]
        if n == len(self._used) or (dim != t.mean.shape[1] and not t.has.any()):  # grow (or set the dimension)
            cap = max(64, 2 * n)
            mean = np.zeros((cap, dim), np.float32)
            if dim == t.mean.shape[1]:
                mean[:n] = t.mean[:n]
            self._table = TrackletTable(mean, *(np.resize(a[:n], cap) for a in (t.has, t.camera, t.first, t.last)))
            self._alive, self._gid = np.resize(self._alive[:n], cap), np.resize(self._gid[:n], cap)
            self._used = np.resize(self._used[:n], cap)
            self._used[n:] = False
        self._keys.append(key)
        self._row[key] = n
        self._gid[n], self._used[n] = gid, True
        self._fill_row(n, tracklet, True)

    def _fill_row(self, r: int, tracklet: Tracklet, alive: bool) -> None:
        t = self._table
        has = tracklet.mean_embedding is not None
        if has and tracklet.mean_embedding.shape[0] != t.mean.shape[1]:
            raise ValueError(
                f"tracklets: appearance dimensions differ: {t.mean.shape[1]} and {tracklet.mean_embedding.shape[0]}"
            )
        t.mean[r] = tracklet.mean_embedding if has else 0.0
        t.has[r], t.camera[r] = has, tracklet.camera
        t.first[r], t.last[r] = tracklet.first_time, tracklet.last_time
        self._alive[r] = alive

    def _remove(self, keys: list[tuple[str, int]]) -> None:
        for k in keys:
            del self._gallery[k]
            r = self._row.pop(k)
            self._used[r], self._keys[r] = False, None
        n = len(self._keys)
        if n > 64 and len(self._row) < n // 2:  # compact: keep the rows in use, in order
            keep = np.flatnonzero(self._used[:n])
            t = self._table
            self._table = TrackletTable(t.mean[keep], t.has[keep], t.camera[keep], t.first[keep], t.last[keep])
            self._alive, self._gid = self._alive[keep], self._gid[keep]
            self._used = np.ones(len(keep), bool)
            self._keys = [self._keys[r] for r in keep]
            self._row = {k: i for i, k in enumerate(self._keys)}

    def _forget(self, now: float) -> None:
        n = len(self._keys)
        used, alive, last = self._used[:n], self._alive[:n], self._table.last[:n]
        if self.gallery_age_s is not None:
            old = np.flatnonzero(used & ~alive & (last < now - self.gallery_age_s))
            if len(old):
                self._remove([self._keys[r] for r in old])
        if self.max_gallery is not None and len(self._gallery) >= self.max_gallery:
            n = len(self._keys)
            done = np.flatnonzero(self._used[:n] & ~self._alive[:n])
            tids = np.array([self._keys[r][1] for r in done], np.int64)
            # ended first; ties by (camera, local id), as the gallery was ordered before it became arrays
            done = done[np.lexsort((tids, self._table.camera[done].astype(str), self._table.last[done]))]
            self._remove([self._keys[r] for r in done[: len(self._gallery) - self.max_gallery + 1]])

    def identities(self) -> Identities:
        order = sorted(self._gids)
        return Identities(
            np.array([k[0] for k in order], dtype=object),
            np.array([k[1] for k in order], np.int64),
            np.array([self._gids[k] for k in order], np.int64),
        )

    def link(self, tracklets: Sequence[Tracklet], matured: Sequence[Tracklet] | None = None) -> Identities:
        """Replay: each tracklet is assigned when it matures, then its full version replaces it when it ends.

        ``matured[i]`` is what was known of ``tracklets[i]`` when it matured (its first ``min_len`` frames, e.g.
        from :meth:`~mctrack.link.tracklets.TrackRecord.tracklet` with ``max_frames``); by default the tracklets
        are truncated here, keeping their full appearance summary.
        """
        self.reset()
        if matured is None:
            matured = [_truncate(t, self.min_len) for t in tracklets]
        if len(matured) != len(tracklets):
            raise ValueError(f"matured: expected {len(tracklets)} tracklets, got {len(matured)}")
        events = []
        full: dict[tuple[str, int], Tracklet] = {}
        for t, m in zip(tracklets, matured):
            if (m.camera, m.track_id) != (t.camera, t.track_id):
                raise ValueError(f"matured: {m.camera}/{m.track_id} does not match {t.camera}/{t.track_id}")
            full[(t.camera, int(t.track_id))] = t
            events.append((m.last_time, 0, t.camera, int(t.track_id), m))
            events.append((t.last_time, 1, t.camera, int(t.track_id), t))
        events.sort(key=lambda e: e[:4])
        for now, kind, _, _, t in events:
            if kind == 0:
                # what is known now of the running tracklets: positions up to now, appearance as it was
                # summarised when they matured (their full summary arrives when they end). The pipeline's live
                # stream also refreshes their appearance as it goes (it has every frame's embedding; a replay of
                # finished tracklets has only their summaries), so its ids can differ from this replay's.
                for key, m in list(self._gallery.items()):
                    if self._alive[self._row[key]]:
                        f = full[key]
                        n = int(np.searchsorted(f.times, now, side="right"))
                        if n > len(m):
                            grown = Tracklet(
                                f.camera,
                                f.track_id,
                                f.frames[:n],
                                f.xyxy[:n],
                                f.times[:n],
                                m.embeddings,
                                m.mean_embedding,
                            )
                            self._gallery[key] = grown
                            self._fill_row(self._row[key], grown, True)
                self.assign(t, now)
            else:
                self.update(t, finished=True)
        return self.identities()


def _truncate(t: Tracklet, n: int) -> Tracklet:
    if len(t) <= n:
        return t
    return Tracklet(t.camera, t.track_id, t.frames[:n], t.xyxy[:n], t.times[:n], t.embeddings, t.mean_embedding)


@LINKERS.register("offline", "constrained agglomerative clustering after all cameras finish")
def build_offline(**kwargs) -> OfflineLinker:
    return OfflineLinker(**kwargs)


@LINKERS.register("online", "global ids assigned as tracklets mature, matched to identity galleries")
def build_online(**kwargs) -> OnlineLinker:
    return OnlineLinker(**kwargs)
