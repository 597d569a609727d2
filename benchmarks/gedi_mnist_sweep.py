"""GEDI on MNIST digits: clustering NMI and energy AUROC for recipes given on the command line,
over seeds (the image part of chapter 4 at its committed size unless --set says otherwise).

    OMP_NUM_THREADS=1 python benchmarks/gedi_mnist_sweep.py --seeds 0 1 2 --set warmup=150 tau=0.5

One CPU thread per run; a line per recipe and variant.
"""
import argparse
import json
from dataclasses import replace

import torch

from rep_utils.data import load_images
from rep_utils.gedi import GEDIImageConfig, scale_pixels, train_gedi
from rep_utils.gedi_scores import image_scores

from common import parse_set


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=["full"])
    ap.add_argument("--set", nargs="*", default=[])
    a = ap.parse_args()
    torch.set_num_threads(1)
    base = replace(GEDIImageConfig.for_profile("ci"), n_train=5000, iterations=312, sgld_steps=10)
    cfg = replace(base, **parse_set(GEDIImageConfig, a.set))
    d = load_images("mnist", "ci").subset(cfg.n_train, cfg.n_test)
    for v in a.variants:
        c = replace(cfg, gen=(v != "nogen"))
        rs = []
        for s in a.seeds:
            model, _, _ = train_gedi(scale_pixels(d.x_train), c, "cpu", seed=s, progress=False)
            rs.append(image_scores(model, scale_pixels(d.x_test), d.y_test, c, {}, s))
        print(json.dumps(dict(recipe=a.set, variant=v, nmi=[round(r["nmi"], 3) for r in rs],
                              acc=[round(r["acc"], 3) for r in rs],
                              used=[r["clusters_used"] for r in rs],
                              dens=[round(r["density_auroc"], 2) for r in rs])), flush=True)


if __name__ == "__main__":
    main()
