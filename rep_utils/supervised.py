"""Plain supervised training: the Setup chapter's sanity run and the baseline of later chapters."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F

from .checks import validate_config
from .data import ImageData, normalize
from .evaluate import extract_features
from .models import Classifier, make_backbone
from .profiles import by_profile
from .train import Amp, fit


@dataclass
class SupervisedConfig:
    backbone: str = "small_cnn"
    n_train: int | None = None  # None: all the training images that were loaded
    n_test: int | None = None
    epochs: int = 1
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 5e-4

    __post_init__ = validate_config  # types and ranges checked when the config is built

    @classmethod
    def for_profile(cls, profile: str) -> "SupervisedConfig":
        return by_profile({"ci": replace(cls(), n_train=8192, n_test=1000),
                "colab": cls(),
                "full": replace(cls(), epochs=10)}, profile)


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, mean, std,
             device: torch.device, batch_size: int = 1024) -> float:
    logits = extract_features(model, x, mean, std, device, batch_size)
    return (logits.argmax(1).cpu() == y).float().mean().item()


def train_supervised(data: ImageData, cfg: SupervisedConfig, device: torch.device, seed: int = 0,
                     checkpoint=None) -> tuple[Classifier, list[dict]]:
    """Cross-entropy training with AdamW; the history holds train loss and test accuracy."""
    torch.manual_seed(seed)
    model = Classifier(make_backbone(cfg.backbone, data.x_train.shape[1]), data.num_classes).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    amp = Amp(device)
    x, y = data.x_train.to(device), data.y_train.to(device)
    mean, std = data.mean_std

    def step(idx, g, k):
        with amp.autocast():
            loss = F.cross_entropy(model(normalize(x[idx], mean, std)), y[idx])
        amp.step(loss, opt)
        return {"loss": loss.detach()}

    def evaluate(epoch):
        return {"test_acc": accuracy(model, data.x_test, data.y_test, mean, std, device)}

    history = fit({"model": model, "opt": opt, "amp": amp}, step, n=len(y), epochs=cfg.epochs,
                  batch_size=cfg.batch_size, seed=seed, device=device, checkpoint=checkpoint,
                  on_epoch_end=evaluate, desc="supervised",
                  meta={**asdict(cfg), "data": data.describe(), "seed": seed})
    return model, history
