"""BYOL training throughput: batched on-device augmentation against the usual per-image
torchvision pipeline in a DataLoader with 2 workers (the BYOL chapter, issue item 5).

Both pipelines feed the same model (BYOL with the chosen backbone and heads), the same batch size
and the same view distributions (BYOL's T and T' without blur); only the augmentation differs.

    python benchmarks/augment_throughput.py --backbone small_cnn --hidden 512 --out 128 --steps 20
    python benchmarks/augment_throughput.py --backbone resnet18 --batch-size 256 --steps 50 --peak-tflops 989

It prints training images per second for each pipeline and, with ``--peak-tflops``, the achieved
fraction of that peak (FLOPs of one training step counted by torch's FlopCounterMode).
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms as T

from rep_utils.augment import Augment
from rep_utils.byol import BYOL
from rep_utils.data import STATS, load_images, normalize
from rep_utils.models import make_backbone
from rep_utils.optim import LARS, lars_param_groups
from rep_utils.train import Amp, pick_device


def torchvision_view(solarize_p: float) -> T.Compose:
    """BYOL's view (App. B, Table 6) with torchvision's per-image ops, blur dropped as in Augment."""
    mean, std = STATS["cifar10"]
    return T.Compose([T.RandomResizedCrop(32, scale=(0.08, 1.0), antialias=True),
                      T.RandomHorizontalFlip(),
                      T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8),
                      T.RandomGrayscale(p=0.2),
                      T.RandomSolarize(0.5, p=solarize_p),
                      T.ConvertImageDtype(torch.float32),
                      T.Normalize(mean, std)])


class TwoViews(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor):
        self.x, self.t1, self.t2 = x, torchvision_view(0.0), torchvision_view(0.2)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.t1(self.x[i]), self.t2(self.x[i])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", default="resnet18")
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--out", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=30, help="timed steps per pipeline (after 3 warm-up steps)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's dense bf16 peak")
    args = ap.parse_args()

    device = pick_device()
    data = load_images("cifar10")
    mean, std = data.mean_std
    torch.manual_seed(0)
    model = BYOL(make_backbone(args.backbone, 3), args.hidden, args.out).to(device)
    opt = LARS(lars_param_groups(torch.nn.ModuleList([model.online, model.predictor]), 1e-5), lr=0.1, eta=0.02)
    amp = Amp(device)

    def train_step(v1, v2):
        with amp.autocast():
            loss = model.loss(v1, v2)
        amp.step(loss, opt)
        model.update_target(0.99)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def timed(batches):
        for i, (v1, v2) in enumerate(batches):
            if i == 3:
                sync()
                t0 = time.perf_counter()
            train_step(v1, v2)
        sync()
        return args.steps * args.batch_size / (time.perf_counter() - t0)

    n = args.batch_size * (args.steps + 3)
    x_dev = data.x_train[:n].to(device)
    views = Augment(blur_p=0.0, solarize_p=0.0), Augment(blur_p=0.0, solarize_p=0.2)
    g = torch.Generator(device).manual_seed(0)

    def ours():
        for i in range(0, n, args.batch_size):
            xb = x_dev[i:i + args.batch_size]
            yield tuple(normalize(t(xb, g), mean, std) for t in views)

    def torchvision_loader():
        loader = torch.utils.data.DataLoader(TwoViews(data.x_train[:n]), batch_size=args.batch_size,
                                             num_workers=args.workers, pin_memory=device.type == "cuda",
                                             persistent_workers=False)
        for v1, v2 in loader:
            yield v1.to(device, non_blocking=True), v2.to(device, non_blocking=True)

    results = {"batched on-device (ours)": timed(ours()),
               f"torchvision DataLoader, {args.workers} workers": timed(torchvision_loader())}
    for name, ips in results.items():
        print(f"{name:>36}: {ips:8.1f} training images/s")
    a, b = results.values()
    print(f"{'speed-up':>36}: {a / b:8.2f}x")
    if args.peak_tflops:
        v = next(ours())
        with FlopCounterMode(display=False) as fc:
            train_step(*v)
        flops_per_image = fc.get_total_flops() / args.batch_size
        print(f"{'achieved (ours)':>36}: {a * flops_per_image / 1e12:8.2f} TFLOP/s = "
              f"{100 * a * flops_per_image / 1e12 / args.peak_tflops:.1f}% of {args.peak_tflops} TFLOP/s")


if __name__ == "__main__":
    main()
