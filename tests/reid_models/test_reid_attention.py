"""CAM and SAM-RPE: shapes, identity at gamma 0, permutation (in)equivariance, a loop reference for the RPE terms.

All module checks run in eval mode (BatchNorm uses its fixed running statistics).
"""

from __future__ import annotations

import math

import pytest
import torch

from reid_models.models.attention import CAM, SAMRPE

MAP_SIZES = [(24, 8), (21, 21), (3, 5)]


def _permute_positions(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    return x.flatten(2)[:, :, perm].view_as(x)


def _samrpe(channels: int, map_size: tuple[int, int], relative: bool, gamma: float) -> SAMRPE:
    module = SAMRPE(channels=channels, map_size=map_size, relative_positions=relative).eval()
    with torch.no_grad():
        module.gamma.fill_(gamma)
    return module


@pytest.mark.parametrize("map_size", MAP_SIZES)
@pytest.mark.parametrize("relative", [True, False])
def test_samrpe_keeps_shape_and_is_identity_at_gamma_zero(
    seeded: None, map_size: tuple[int, int], relative: bool
) -> None:
    module = _samrpe(64, map_size, relative, gamma=0.0)
    x = torch.rand(2, 64, *map_size)
    with torch.no_grad():
        out = module(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, x)


@pytest.mark.parametrize(("built", "given"), [((24, 8), (21, 21)), ((21, 21), (24, 8)), ((24, 8), (8, 24))])
@pytest.mark.parametrize("relative", [True, False])
def test_samrpe_rejects_other_map_size(built: tuple[int, int], given: tuple[int, int], relative: bool) -> None:
    module = _samrpe(64, built, relative, gamma=1.0)
    expected = f"built for {built[0]}x{built[1]}.*got {given[0]}x{given[1]}"
    with pytest.raises(ValueError, match=expected):
        module(torch.rand(1, 64, *given))


@pytest.mark.parametrize("map_size", [(24, 8), (21, 21)])
def test_samrpe_relative_positions_break_permutation_equivariance(seeded: None, map_size: tuple[int, int]) -> None:
    # float64, as for CAM below: float32's permuted sums round differently by up to ~1e-5
    x = torch.rand(2, 64, *map_size, dtype=torch.float64)
    perm = torch.randperm(map_size[0] * map_size[1])
    with torch.no_grad():
        off = _samrpe(64, map_size, relative=False, gamma=1.0).double()
        torch.testing.assert_close(off(_permute_positions(x, perm)), _permute_positions(off(x), perm))

        on = _samrpe(64, map_size, relative=True, gamma=1.0).double()
        attended = on(x) - x
        attended_of_permuted = on(_permute_positions(x, perm)) - _permute_positions(x, perm)
    difference = (attended_of_permuted - _permute_positions(attended, perm)).norm()
    assert difference > 0.5 * attended.norm()


def test_samrpe_matches_loop_reference(seeded: None) -> None:
    height, width, channels = 3, 4, 16
    module = _samrpe(channels, (height, width), relative=True, gamma=0.7)
    with torch.no_grad():
        module.bn_h.running_mean.uniform_(-1, 1)
        module.bn_w.running_var.uniform_(0.5, 2)
        x = torch.rand(2, channels, height, width)
        q, k, v = module.query(x), module.key(x), module.value(x)
        content = torch.zeros_like(x)
        out_h = torch.zeros_like(x)
        out_w = torch.zeros_like(x)
        for b in range(2):
            for i in range(height):
                for j in range(width):
                    scores = torch.stack(
                        [q[b, :, i, j] @ k[b, :, i2, j2] for i2 in range(height) for j2 in range(width)]
                    ).softmax(0)
                    content[b, :, i, j] = (v[b].flatten(1) * scores).sum(1)
                    for i2 in range(height):
                        out_h[b, :, i, j] += (q[b, :, i, j] @ module.rel_h[i - i2 + height - 1]) * v[b, :, i2, j]
                    for j2 in range(width):
                        out_w[b, :, i, j] += (q[b, :, i, j] @ module.rel_w[j - j2 + width - 1]) * v[b, :, i, j2]
        expected = 0.7 * (content + module.bn_h(out_h) + module.bn_w(out_w)) + x
        torch.testing.assert_close(module(x), expected, rtol=1e-4, atol=1e-4)


def test_samrpe_tables_have_relative_shapes() -> None:
    module = SAMRPE(channels=1024, map_size=(24, 8))
    assert module.rel_h.shape == (47, 128) and module.rel_w.shape == (15, 128)
    assert not hasattr(SAMRPE(channels=64, map_size=(24, 8), relative_positions=False), "rel_h")


@pytest.mark.parametrize(("kwargs", "message"), [({"channels": 60}, "channels"), ({"map_size": (24,)}, "map_size")])
def test_samrpe_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SAMRPE(**{"channels": 64, "map_size": (24, 8), **kwargs})


def test_cam_is_identity_at_gamma_zero(seeded: None) -> None:
    x = torch.rand(2, 32, 6, 4)
    torch.testing.assert_close(CAM()(x), x, rtol=0, atol=0)


@pytest.mark.parametrize("map_size", [(24, 8), (21, 21)])
def test_cam_is_permutation_equivariant(seeded: None, map_size: tuple[int, int]) -> None:
    # float64: in float32 the permuted sums over H*W positions round differently (up to ~1e-5 at 21x21, seen on
    # one CPU), which is summation order, not equivariance
    cam = CAM().double()
    with torch.no_grad():
        cam.gamma.fill_(1.0)
        x = torch.rand(2, 32, *map_size, dtype=torch.float64)
        perm = torch.randperm(map_size[0] * map_size[1])
        out = cam(x)
        torch.testing.assert_close(cam(_permute_positions(x, perm)), _permute_positions(out, perm))
    assert (out - x).abs().max() > 0.1


def test_cam_hand_computed() -> None:
    cam = CAM()
    with torch.no_grad():
        cam.gamma.fill_(1.0)
        x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(1, 2, 1, 2)  # two channels, two positions
        # energy = I, rowmax - energy = [[0, 1], [1, 0]]: softmax rows [a, b] and [b, a]
        a, b = 1 / (1 + math.e), math.e / (1 + math.e)
        expected = torch.tensor([[1 + a, b], [b, 1 + a]]).view(1, 2, 1, 2)
        torch.testing.assert_close(cam(x), expected)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cam_affinity_does_not_overflow_under_autocast(dtype: torch.dtype) -> None:
    """Post-ReLU maps of real crops: 24x8 positions of activations ~20 give X X^T ~ 77,000 > float16's 65,504."""
    x = torch.full((2, 16, 24, 8), 20.0) + torch.rand(2, 16, 24, 8)
    flat = x.to(torch.float16).flatten(2)
    assert torch.isinf(flat @ flat.transpose(1, 2)).any()  # what the affinity was in float16 before the fix
    cam = CAM()
    with torch.no_grad():
        cam.gamma.fill_(1.0)
        reference = cam(x)
        with torch.autocast("cpu", dtype=dtype):
            out = cam(x.to(dtype))
    assert out.dtype == dtype and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), reference, rtol=2e-2, atol=0.5)
