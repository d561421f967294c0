"""Cross-camera linkers: tracklets -> global identities. Registered implementations are imported here.

Registered names (``mctrack.registry.LINKERS``):

- ``offline``: constrained agglomerative clustering after every camera finished (recorded video).
- ``online``: global ids assigned as tracklets mature, matched to the galleries of known identities (live).
"""

from __future__ import annotations

from .constraints import (
    LinkConstraints,
    Transit,
    candidate_pairs,
    cross_distances,
    foot_points_to_ground,
    load_ground_homography,
    pairwise_distances,
)
from .linkers import (
    LINKAGES,
    Linker,
    OfflineLinker,
    OnlineLinker,
    agglomerate,
    canonical_order,
    identities_from_labels,
    singleton_identities,
)
from .store import TrackletStore, load_tracklets
from .tracklets import TrackletBuilder, TrackRecord, merge_tracklets, summarize_appearance

__all__ = [
    "LinkConstraints",
    "Transit",
    "candidate_pairs",
    "cross_distances",
    "pairwise_distances",
    "foot_points_to_ground",
    "load_ground_homography",
    "LINKAGES",
    "Linker",
    "OfflineLinker",
    "OnlineLinker",
    "agglomerate",
    "canonical_order",
    "identities_from_labels",
    "singleton_identities",
    "TrackletBuilder",
    "TrackRecord",
    "summarize_appearance",
    "merge_tracklets",
    "TrackletStore",
    "load_tracklets",
]
