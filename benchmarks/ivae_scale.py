"""Chapter 5 diagnosis: the digit task's metrics against the number of Adam steps (not run in CI).

How many steps q(y|x) needs to send the digits 5-9 to the dimensions 5-9: this script trains M2
or the inverted model with the paper's networks on every labelled digit 0-4 and every training
image, and prints the paper's metric every ``--every`` steps, with the judge used by the chapter
(logistic regression on 4,000 digits).

    OMP_NUM_THREADS=1 python benchmarks/ivae_scale.py --model M2 --batch 1000 --steps 600
"""
import argparse
import time
from dataclasses import replace

import torch
from torch import nn

from rep_utils import ivae, ivae_digits
from rep_utils.data import load_images


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["M2", "inverted"], default="inverted")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden-x", type=int, nargs=2, default=(250, 500))
    a = p.parse_args()
    torch.set_num_threads(1)
    data = load_images("mnist")
    classify = ivae_digits.judge(data, 4000)  # the chapter's judge
    cfg = replace(ivae.IVAEConfig(), batch_size=a.batch, lr=a.lr, hidden_x=tuple(a.hidden_x))
    if a.model == "M2":
        cfg = replace(cfg, alpha_r=0.0, alpha_rd=0.0)
    split = ivae_digits.untapped_mnist(data, cfg, a.seed)
    torch.manual_seed(a.seed)
    model = ivae.M2(784, cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=1e-4)
    g, b, t0 = torch.Generator().manual_seed(a.seed), cfg.batch_size, time.time()
    for step in range(1, a.steps + 1):
        i_l, i_u, i_y = (torch.randint(len(split[k]), (b,), generator=g) for k in ("x_l", "x_u", "y_u"))
        loss, _ = ivae.ivae_loss(model, split["x_l"][i_l], split["y_l"][i_l], split["x_u"][i_u],
                                 split["y_u"][i_y], split["z_u"][i_y], g)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 1.0)
        opt.step()
        if step % a.every == 0:
            r = ivae_digits.untapped_metrics(model, split, classify)
            with torch.no_grad():
                q = model.predict_y(split["x_test"]).exp()[split["t_test"] >= 5]
            print(f"{a.model} seed {a.seed} step {step:5d}: cross-entropy 5-9 {r['cross_entropy']:.2f}, "
                  f"accuracy 5-9 {r['acc_new']:.3f}, 0-4 {r['acc_labelled']:.3f}, "
                  f"coverage {r['coverage']}, mass on dims 5-9 {q[:, 5:].sum(1).mean():.2f}, "
                  f"{time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
