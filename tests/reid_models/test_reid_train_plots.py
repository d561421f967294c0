"""End-of-run pictures are written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_picture_cut_short_leaves_no_file(tmp_path, monkeypatch):
    """A run stopped (SIGTERM) while it drew curves.png left a half-written file that the run's resume took for
    the picture."""
    import matplotlib.figure

    from reid_models.train.plots import plot_curves

    history = [{"epoch": 1, "loss_id": 2.0, "rank1": 0.5, "mAP": 0.4}, {"epoch": 2, "loss_id": 1.5}]

    def cut_short(self, fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(matplotlib.figure.Figure, "savefig", cut_short)
        with pytest.raises(KeyboardInterrupt):
            plot_curves(history, tmp_path / "curves.png")
    assert list(tmp_path.iterdir()) == []
    plot_curves(history, tmp_path / "curves.png")
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG\r\n")
