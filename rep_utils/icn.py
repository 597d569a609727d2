"""Introspective CNN (Jin, Lazarow & Tu, NIPS 2017, arXiv 1704.07816): reclassification by synthesis.

One CNN with K + 1 outputs: the K classes and a "pseudo-negative" class. Each round (a) trains it
on the real images and all pseudo-negatives so far, then (b) synthesises new pseudo-negatives for
every class k from noise by Langevin ascent on its own Bayes ratio
log p(y=k|x) / p(y=neg|x) = f_k(x) - f_neg(x), and adds them to the negative pool. The paper's
exact step sizes, step counts, pool sizes and multi-class loss could not be recovered; the choices
here are ours and the chapter lists them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .checks import validate_config
from .data import ImageData, normalize
from .evaluate import predict
from .models import Classifier, SmallCNN, make_backbone
from .optim import warmup_cosine
from .profiles import by_profile
from .sgld import sgld_sample
from .train import Amp, fit


@dataclass
class ICNConfig:
    dataset: str = "mnist"  # or "cifar10"
    backbone: str = "small_cnn"  # or "resnet18" (rep_utils.models.ResNet18Cifar, for 32x32 colour images)
    width: int = 32  # SmallCNN channels (32, 64, 128 at the default)
    n_train: int | None = None  # None: all the training images that were loaded
    n_test: int | None = None
    draw: int = 0  # which draw of the n_train training images (ImageData.subset); the test images stay
    rounds: int = 4  # reclassification rounds T; synthesis after each but the last
    epochs_per_round: int = 2
    batch_size: int = 64
    neg_batch: int = 32  # pseudo-negatives in each training step
    alpha: float = 0.3  # weight of the pseudo-negative cross-entropy; ours: at 1 it costs accuracy (chapter 3)
    lr: float = 1e-3
    lr_decay: bool = True  # ours: cosine decay to 0 over all rounds' steps, in both arms
    weight_decay: float = 5e-4
    neg_per_class: int = 20  # new pseudo-negatives per class and round (10 classes: 200, the paper's "e.g. 200")
    sgld_steps: int = 40
    step_size: float = 0.5  # on pixels in [0, 1]
    noise_std: float = 0.01
    introspective: bool = True  # False: the same CNN, same schedule, real images only (the baseline)

    __post_init__ = validate_config  # types and ranges checked when the config is built

    @classmethod
    def for_profile(cls, profile: str, dataset: str = "mnist") -> "ICNConfig":
        """MNIST: the small CNN. CIFAR-10: the CIFAR ResNet-18 in colab/full (the paper used a ResNet-32);
        its ci config keeps the small CNN so that it runs on a CPU."""
        ci = replace(cls(), n_train=1000, n_test=1000, width=16, rounds=3, lr=5e-3,
                     batch_size=32, neg_batch=16, neg_per_class=10, sgld_steps=20)
        return by_profile({("mnist", "ci"): ci,
                ("mnist", "colab"): replace(cls(), n_train=5000, n_test=None),
                ("mnist", "full"): replace(cls(), rounds=10, epochs_per_round=3),
                ("cifar10", "ci"): replace(ci, dataset="cifar10"),
                ("cifar10", "colab"): replace(cls(), dataset="cifar10", backbone="resnet18", n_train=10000,
                                              n_test=None, rounds=4, epochs_per_round=4, batch_size=128),
                ("cifar10", "full"): replace(cls(), dataset="cifar10", backbone="resnet18", rounds=10,
                                             epochs_per_round=10, batch_size=128),
                }, (dataset, profile), "(dataset, profile)")

    def network(self, in_channels: int, num_classes: int) -> Classifier:
        """The CNN with K + 1 outputs (the last one is the pseudo-negative class)."""
        backbone = (SmallCNN(in_channels, self.width) if self.backbone == "small_cnn"
                    else make_backbone(self.backbone, in_channels))
        return Classifier(backbone, num_classes + 1)

    def all_data(self) -> "ICNConfig":
        """Every training and test image, one epoch a round (the paper's full-MNIST setting)."""
        return replace(self, n_train=None, n_test=None, epochs_per_round=1)

    def with_labels(self, n: int, n_ref: int, draw: int = 0) -> "ICNConfig":
        """Train on ``n`` labelled images (draw ``draw``) with as many optimisation steps per round
        as on ``n_ref``."""
        if min(n, n_ref) < self.batch_size:
            raise ValueError(f"with_labels({n}, {n_ref}): both must be at least batch_size={self.batch_size}.")
        steps = self.epochs_per_round * (n_ref // self.batch_size)
        return replace(self, n_train=n, draw=draw, epochs_per_round=math.ceil(steps / (n // self.batch_size)))


def log_ratio(logits: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """log p(y=k|x) - log p(y=neg|x) = f_k - f_neg: the classifier's Bayes ratio (the last logit is 'neg')."""
    return logits.gather(1, k[:, None]).squeeze(1) - logits[:, -1]


def noise_reference(n: int, shape, mean, std, device, g=None) -> torch.Tensor:
    """p_0: a standard Gaussian in the normalised input space, clamped to the pixel range [0, 1]."""
    z = torch.randn((n, *shape), device=device, generator=g)
    m = torch.as_tensor(mean, device=device)[None, :, None, None]
    s = torch.as_tensor(std, device=device)[None, :, None, None]
    return (m + s * z).clamp(0, 1)


def synthesize(model, k: torch.Tensor, x0: torch.Tensor, cfg: ICNConfig, mean, std, g=None) -> torch.Tensor:
    """Pseudo-negatives for classes ``k``: Langevin ascent of f_k - f_neg from ``x0`` (pixels in [0, 1])."""
    model.eval()  # BatchNorm in inference mode while sampling, as in the authors' INN/WINN code
    x = sgld_sample(lambda x: log_ratio(model(normalize(x, mean, std)), k), x0,
                    cfg.sgld_steps, cfg.step_size, cfg.noise_std, clamp=(0.0, 1.0), g=g)
    model.train()
    return x


def icn_loss(logits_real, y, logits_neg, alpha: float = 1.0) -> torch.Tensor:
    """(K+1)-way cross-entropy: real images to their class, pseudo-negatives to the last class
    (our form: the paper's exact multi-class loss could not be recovered)."""
    neg = torch.full((len(logits_neg),), logits_neg.shape[1] - 1, device=logits_neg.device)
    return F.cross_entropy(logits_real, y) + alpha * F.cross_entropy(logits_neg, neg)


class NegativePool:
    """All pseudo-negatives so far (pixels in [0, 1]), with the class and round each was made for."""

    def __init__(self):
        self.x, self.k, self.round = None, torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)

    def add(self, x: torch.Tensor, k: torch.Tensor, t: int) -> None:
        self.x = x if self.x is None else torch.cat([self.x, x])
        self.k = torch.cat([self.k.to(k.device), k])
        self.round = torch.cat([self.round.to(k.device), torch.full_like(k, t)])

    def of_round(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        keep = self.round == t
        return self.x[keep], self.k[keep]

    def grid(self, t: int, per_class: int, num_classes: int) -> torch.Tensor:
        """Round ``t``'s first ``per_class`` images of each class, in rows of one image per class."""
        x, k = self.of_round(t)
        order = torch.cat([torch.nonzero(k == c).flatten()[:per_class] for c in range(num_classes)])
        return x[order].view(num_classes, per_class, *x.shape[1:]).transpose(0, 1).flatten(0, 1)

    def __len__(self) -> int:
        return len(self.k)


def predict_logits(model, x, mean, std, batch_size: int = 1000) -> torch.Tensor:
    """The classifier's K + 1 logits for images ``x`` (uint8 or pixels in [0, 1], on their own
    device), in eval mode."""
    return predict(model, x, x.device, batch_size, transform=lambda b: normalize(b, mean, std))


class ICNRun(NamedTuple):
    """What :func:`train_icn` returns: the classifier, its per-epoch history, the pool of
    pseudo-negatives and the per-round synthesis statistics."""

    model: torch.nn.Module
    history: list
    pool: NegativePool
    stats: list

    @property
    def test_err(self) -> float:
        return self.history[-1]["test_err"]

    def round_errors(self) -> list[float]:
        """The test error at the end of each round (train_icn evaluates once a round)."""
        return [h["test_err"] for h in self.history if "test_err" in h]

    def judge(self, data: ImageData, t: int = 1) -> dict[str, float]:
        """How the final classifier sees round ``t``'s pseudo-negatives: the share it puts in the
        negative class, and their mean score f_k - f_neg."""
        x, k = self.pool.of_round(t)
        logits = predict_logits(self.model, x, *data.mean_std)
        return {"rejected": (logits.argmax(1) == data.num_classes).float().mean().item(),
                "score": log_ratio(logits, k).mean().item()}


def arms(cfg: ICNConfig) -> dict[str, ICNConfig]:
    """The comparison's two arms: the ICN, and the same CNN on the same schedule without negatives."""
    return {"ICN": replace(cfg, introspective=True), "baseline": replace(cfg, introspective=False)}


def train_icn(data: ImageData, cfg: ICNConfig, device, seed: int = 0, checkpoint=None, progress: bool = True) -> ICNRun:
    """Reclassification by synthesis, the paper's loop (its section numbers could not be checked),
    on ``data.for_config(cfg)``. Each round is checkpointed beside ``checkpoint`` (``<stem>_round<t>.pt``).
    ``introspective=False`` trains the same CNN on the same schedule without negatives."""
    if data.name != cfg.dataset:
        raise ValueError(f"cfg.dataset is {cfg.dataset!r} but the data are {data.name!r}: use "
                         f"ICNConfig.for_profile(profile, {data.name!r}).")
    data = data.for_config(cfg)
    torch.manual_seed(seed)
    K, shape, (mean, std) = data.num_classes, data.x_train.shape[1:], data.mean_std
    model = cfg.network(shape[0], K).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    amp = Amp(device)  # mixed precision for training only; synthesis runs in full precision
    x, y = data.x_train.to(device), data.y_train.to(device)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    pool, stats = NegativePool(), []

    def new_negatives(t: int) -> torch.Tensor:
        """Round t's pseudo-negatives, neg_per_class for each class, from p_0 (t = 0: noise only)."""
        g = torch.Generator(device).manual_seed(seed * 1009 + t)
        k = torch.arange(K, device=device).repeat_interleave(cfg.neg_per_class)
        x0 = noise_reference(len(k), shape, mean, std, device, g)
        xt = x0 if t == 0 else synthesize(model, k, x0, cfg, mean, std, g)
        pool.add(xt, k, t)
        return k, x0, xt

    total = cfg.rounds * cfg.epochs_per_round * (len(y) // cfg.batch_size)
    state = {"model": model, "opt": opt, "amp": amp}
    if cfg.lr_decay:  # checkpointed with the rest of the state, so a resumed run keeps its place
        state["sched"] = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: warmup_cosine(k, total, 0))

    def step(idx, g, k):
        xb = x[idx].float() / 255
        if cfg.introspective:  # one BatchNorm batch for real images and pseudo-negatives
            xb = torch.cat([xb, pool.x[torch.randint(len(pool), (cfg.neg_batch,), device=device, generator=g)]])
        with amp.autocast():
            logits = model(normalize(xb, mean, std))
            loss = (icn_loss(logits[:len(idx)], y[idx], logits[len(idx):], cfg.alpha) if cfg.introspective
                    else F.cross_entropy(logits, y[idx]))
        amp.step(loss, opt)
        if cfg.lr_decay:
            state["sched"].step()
        return {"loss": loss.detach()}

    def evaluate(epoch):  # at the end of each round
        if epoch < cfg.epochs_per_round - 1:
            return {}
        err = (predict_logits(model, x_test, mean, std)[:, :K].argmax(1) != y_test).float().mean()
        return {"test_err": err.item()}

    if cfg.introspective:
        new_negatives(0)
    history = []
    for t in range(1, cfg.rounds + 1):  # (a) reclassification ...
        ck = Path(checkpoint).with_name(f"{Path(checkpoint).stem}_round{t}.pt") if checkpoint else None
        meta = {**asdict(cfg), "data": data.describe(), "seed": seed, "round": t}
        h = fit(state, step, n=len(y), epochs=cfg.epochs_per_round, batch_size=cfg.batch_size, seed=seed * 31 + t,
                device=device, checkpoint=ck, on_epoch_end=evaluate, desc=f"round {t}", meta=meta, progress=progress)
        history += [{**r, "round": t, "epoch": (t - 1) * cfg.epochs_per_round + r["epoch"]} for r in h]
        if cfg.introspective and t < cfg.rounds:  # ... then (b) synthesis
            k, x0, xt = new_negatives(t)
            before, after = (log_ratio(predict_logits(model, z, mean, std), k) for z in (x0, xt))
            stats.append({"round": t, "score_noise": before.mean().item(), "score_synth": after.mean().item()})
    return ICNRun(model, history, pool, stats)
