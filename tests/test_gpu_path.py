"""The GPU path on the CPU: every chapter's config for every profile (and dataset) is built and
trained for one or two optimisation steps with its real architecture and heads (ResNet-18,
4,096-wide projectors, ...) on a tiny batch, under bf16 autocast where the method uses mixed
precision, so that a shape or config error in the colab/full settings fails CI before a GPU
run finds it. Only the data size, batch size and run length are cut."""
from dataclasses import replace

import pytest
import torch

from rep_utils import byol, gedi, icn, ivae, ivae_digits, ivae_spectra, moco, simclr, simsiam, supervised
from rep_utils.data import ImageData
from rep_utils.profiles import PROFILES
from rep_utils.train import Amp

CPU = torch.device("cpu")
SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


@pytest.fixture(autouse=True)
def bf16_on_cpu(monkeypatch):
    """Amp in bf16 on the CPU, as on a bf16 GPU (Amp itself is a no-op off CUDA)."""
    init = Amp.__init__

    def bf16(self, device, enabled=True):
        init(self, device, enabled)
        self.dtype = torch.bfloat16

    monkeypatch.setattr(Amp, "__init__", bf16)
    torch.manual_seed(0)


def tiny(name: str, n: int = 8) -> ImageData:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, *SHAPES[name]), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % 10
    return ImageData(name, "random test images", x, y, x, y, [str(i) for i in range(10)])


def finite(history) -> bool:
    return all(torch.isfinite(torch.tensor(v)).item() for h in history for v in h.values()
               if isinstance(v, float))


@pytest.mark.parametrize("profile", PROFILES)
def test_supervised(profile):
    cfg = replace(supervised.SupervisedConfig.for_profile(profile), n_train=None, epochs=1, batch_size=4)
    _, h = supervised.train_supervised(tiny("mnist"), cfg, CPU)
    assert len(h) == 1 and finite(h)


@pytest.mark.parametrize("method", ["byol", "simclr", "moco", "simsiam"])
@pytest.mark.parametrize("profile", PROFILES)
def test_two_view_methods(method, profile):
    mod = {"byol": byol, "simclr": simclr, "moco": moco, "simsiam": simsiam}[method]
    cfg_cls = {"byol": byol.BYOLConfig, "simclr": simclr.SimCLRConfig, "moco": moco.MoCoConfig,
               "simsiam": simsiam.SimSiamConfig}
    cfg = replace(cfg_cls[method].for_profile(profile), n_train=None, epochs=1, batch_size=4)
    data = tiny("cifar10").resized(cfg.image_size)
    model, h = getattr(mod, f"train_{method}")(data, cfg, CPU)
    assert [r["epoch"] for r in h] == ([0, 1] if method == "byol" else [1])  # BYOL logs epoch 0 too
    assert finite(h)
    assert model.encoder(torch.zeros(2, 3, cfg.image_size, cfg.image_size)).shape[1] == model.encoder.feature_dim


@pytest.mark.parametrize("dataset", SHAPES)
@pytest.mark.parametrize("profile", PROFILES)
def test_icn(dataset, profile):
    cfg = replace(icn.ICNConfig.for_profile(profile, dataset), n_train=None, n_test=None, rounds=2,
                  epochs_per_round=1, batch_size=4, neg_batch=2, neg_per_class=1, sgld_steps=1)
    model, h, pool, stats = icn.train_icn(tiny(dataset), cfg, CPU)
    assert len(h) == 2 and finite(h) and len(pool) == 20 and model.head.out_features == 11


def gedi_image_configs():
    for profile in PROFILES:
        yield "mnist", profile
    yield from (("cifar10", p) for p in ("colab", "full"))  # CIFAR-10 is not in the ci profile


@pytest.mark.parametrize("profile", PROFILES)
def test_gedi_toy(profile):
    cfg = replace(gedi.GEDIConfig.for_profile(profile), n_train=8, iterations=2, batch_size=4,
                  buffer_size=16)
    _, _, h = gedi.train_gedi(torch.randn(8, 2), cfg, CPU)
    assert finite(h)


@pytest.mark.parametrize("dataset, profile", list(gedi_image_configs()))
def test_gedi_images(dataset, profile):
    cfg = replace(gedi.GEDIImageConfig.for_profile(profile, dataset), n_train=None, n_test=None,
                  iterations=2, batch_size=4, buffer_size=16, sgld_steps=1)
    model, _, h = gedi.train_gedi(gedi.scale_pixels(tiny(dataset).x_train), cfg, CPU)
    assert finite(h) and model(torch.zeros(2, *SHAPES[dataset])).shape == (2, cfg.n_clusters)


@pytest.mark.parametrize("profile", PROFILES)
def test_inverted_vae_digits(profile):
    cfg = replace(ivae.IVAEConfig.for_profile(profile), n_labelled=None, n_unlabelled=None, epochs=1,
                  batch_size=4)
    _, h = ivae.train_ivae(ivae_digits.untapped_mnist(tiny("mnist"), cfg), cfg, CPU)
    assert finite(h)


@pytest.mark.parametrize("profile", PROFILES)
def test_inverted_vae_spectra(profile):
    cfg = replace(ivae_spectra.SpectraConfig.for_profile(profile), n_labelled=8, n_unlabelled=8, n_unfeatured=8,
                  n_test=8, epochs=1, batch_size=4)
    _, h = ivae.train_ivae(ivae_spectra.untapped_spectra(cfg), cfg, CPU)
    assert finite(h)
