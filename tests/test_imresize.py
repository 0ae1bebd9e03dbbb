"""MATLAB-compatible bicubic imresize: hand-computed border cases, Pillow's float resize in
the interior (the same kernel and pixel-centre convention, different border handling)."""
import numpy as np
import pytest
from PIL import Image

from srhw.imresize import cubic, imresize, weight_matrix


def test_cubic_kernel_values():
    # a = -0.5: 1 at 0, 0 at the integers, -0.0703125 at 1.25 and 0.8671875 at 0.25 (hand-computed)
    x = np.array([0.0, 1.0, 2.0, 0.25, 0.75, 1.25, 1.75, 2.5])
    np.testing.assert_allclose(cubic(x), [1, 0, 0, 0.8671875, 0.2265625, -0.0703125, -0.0234375, 0])


def test_upscale_border_is_mirrored():
    # [a, b] -> 4 samples; the first sits at u = 0.75 with taps -1, 0 (mirrored to b, a), 1 (a), 2 (b):
    # 1.09375 a - 0.09375 b, by hand from the kernel values above
    out = imresize(np.array([[0.0, 1.0]]), (1, 4))
    assert out[0, 0] == pytest.approx(-0.09375)
    assert out[0, 3] == pytest.approx(1.09375)
    np.testing.assert_allclose(out[0], 1.0 - out[0, ::-1])  # symmetry of the case


def test_constant_and_weights_sum_to_one():
    for n_in, n_out in ((7, 3), (10, 25), (33, 11)):
        m = weight_matrix(n_in, n_out, n_out / n_in)
        np.testing.assert_allclose(m.sum(axis=1), 1.0)
    np.testing.assert_array_equal(imresize(np.full((9, 13), 77, np.uint8), (4, 6)), 77)


@pytest.mark.parametrize("size", [(20, 26), (13, 17), (80, 104), (120, 156)])
def test_interior_matches_pillow_float(size):
    a = np.random.default_rng(0).random((40, 52)) * 255
    ours = imresize(a, size)
    pil = np.asarray(Image.fromarray(a.astype(np.float32), "F").resize(size[::-1], Image.BICUBIC), np.float64)
    b = 6  # away from the border, where Pillow renormalises instead of mirroring
    np.testing.assert_allclose(ours[b:-b, b:-b], pil[b:-b, b:-b], atol=1e-3)
    assert np.abs(ours - pil).max() > 0.5  # and the borders do differ: the check can tell them apart


def test_uint8_rounds_each_pass():
    a = np.random.default_rng(1).integers(0, 256, (24, 30), dtype=np.uint8)
    out = imresize(a, (12, 15))
    assert out.dtype == np.uint8
    rows = np.floor(weight_matrix(24, 12, 0.5) @ a.astype(np.float64) + 0.5).clip(0, 255)
    both = np.floor(rows @ weight_matrix(30, 15, 0.5).T + 0.5).clip(0, 255)
    np.testing.assert_array_equal(out, both)
