"""Video sources, MOTChallenge files and annotated-video writers."""

from __future__ import annotations

from .mot import MotWriter, SeqInfo, detections_by_frame, load_mot_txt, read_seqinfo, save_mot_txt, write_seqinfo
from .video import AnnotatedVideoWriter, FrameSource, ImageFolderSource, SequenceSource, VideoFileSource, open_source

__all__ = [
    "MotWriter",
    "SeqInfo",
    "detections_by_frame",
    "load_mot_txt",
    "read_seqinfo",
    "save_mot_txt",
    "write_seqinfo",
    "AnnotatedVideoWriter",
    "FrameSource",
    "ImageFolderSource",
    "SequenceSource",
    "VideoFileSource",
    "open_source",
]
