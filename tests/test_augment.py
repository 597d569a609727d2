import pytest
import torch
import torchvision.transforms.functional as TF

from rep_utils import augment as A


def _imgs(n=6, c=3, s=16):
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(1))


def _per_image(fn, x, factors):
    return torch.stack([fn(xi, float(f)) for xi, f in zip(x, factors)])


@pytest.mark.parametrize("ours, theirs", [
    (A.adjust_brightness, TF.adjust_brightness),
    (A.adjust_contrast, TF.adjust_contrast),
    (A.adjust_saturation, TF.adjust_saturation),
])
def test_jitter_ops_match_torchvision(ours, theirs):
    x, f = _imgs(), torch.tensor([0.6, 0.9, 1.0, 1.2, 1.4, 0.0])
    torch.testing.assert_close(ours(x, f), _per_image(theirs, x, f), atol=1e-5, rtol=0)


def test_hue_matches_torchvision():
    x, shift = _imgs(), torch.tensor([-0.1, -0.05, 0.0, 0.03, 0.1, 0.5])
    torch.testing.assert_close(A.adjust_hue(x, shift), _per_image(TF.adjust_hue, x, shift), atol=1e-4, rtol=0)


def test_hsv_round_trip():
    x = _imgs()
    torch.testing.assert_close(A.hsv_to_rgb(A.rgb_to_hsv(x)), x, atol=1e-5, rtol=0)


def test_grayscale_and_solarize_match_torchvision():
    x = _imgs()
    torch.testing.assert_close(A.grayscale(x)[:, :1], TF.rgb_to_grayscale(x), atol=1e-6, rtol=0)
    torch.testing.assert_close(A.solarize(x), TF.solarize(x, 0.5))


def test_blur_matches_torchvision_per_sigma():
    x = _imgs(s=32)
    g = torch.Generator().manual_seed(3)
    ours = A.gaussian_blur(x, sigma=(0.5, 2.0), g=g)
    sig = A._uniform(len(x), 0.5, 2.0, x, torch.Generator().manual_seed(3))  # the same draws
    theirs = torch.stack([TF.gaussian_blur(xi, [3, 3], [float(s)] * 2) for xi, s in zip(x, sig)])
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_full_crop_is_identity_and_flip_flips():
    x = _imgs()
    same = A.random_resized_crop(x, 16, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    torch.testing.assert_close(A.hflip(x, p=1.0), x.flip(-1))
    torch.testing.assert_close(A.hflip(x, p=0.0), x)


def test_crop_scale_in_closed_form():
    """On an image whose value is its column index, a crop of a quarter of the area (aspect 1)
    resized to the full width steps 0.5 per output column."""
    x = torch.arange(8.0).expand(16, 1, 8, 8).contiguous()
    y = A.random_resized_crop(x, 8, scale=(0.25, 0.25), ratio=(1.0, 1.0), g=torch.Generator().manual_seed(0))
    torch.testing.assert_close(y[..., 1:7].diff(dim=-1), torch.full((16, 1, 8, 5), 0.5), atol=1e-5, rtol=0)


@pytest.mark.parametrize("c", [1, 3])
def test_pipeline_shapes_ranges_and_seed(c):
    aug = A.Augment(size=24, blur_p=0.5, solarize_p=0.5)
    x = (torch.rand(8, c, 32, 32) * 255).to(torch.uint8)
    y1 = aug(x, torch.Generator().manual_seed(7))
    y2 = aug(x, torch.Generator().manual_seed(7))
    y3 = aug(x, torch.Generator().manual_seed(8))
    assert y1.shape == (8, c, 24, 24) and y1.dtype == torch.float32
    assert y1.min() >= 0 and y1.max() <= 1
    assert torch.equal(y1, y2) and not torch.allclose(y1, y3)
