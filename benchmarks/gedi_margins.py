"""Chapter 4: the margin of each of the notebook's assertions over seeds (not run in CI).

Runs, at each seed, what the chapter runs in the ci profile (the four toy recipes on moons and
circles, the triad's ablations at the author's temperature on the moons, and both MNIST variants),
two seeds at a time on one CPU thread each. The toy assertions are about the notebook's seeds
``seed, seed + 1, seed + 2`` (3 in ci), so they are checked on every window of 3 consecutive seeds;
the image assertions are about one seed. A margin is how far the asserted quantity is on the right
side of its threshold (positive: passes); counts are out of the window's 3 seeds.

    python benchmarks/gedi_margins.py --seeds 0 1 2 3 4 5 6 7 8 9 10 11
"""
import argparse
import math
import multiprocessing as mp
from dataclasses import replace

import torch
import torch.nn.functional as F

from rep_utils.augment import grayscale
from rep_utils.data import load_images
from rep_utils.gedi import GEDIConfig, GEDIImageConfig, scale_pixels, train_gedi
from rep_utils.gedi_scores import image_scores, toy_run

from common import margin_table

AUTHOR = dict(tau=0.1, warmup=0)
COMPARED = {"cluster-only": dict(gen=False), "energy-only": dict(inv=False, prior=False),
            "full, tau 0.1": AUTHOR, "full": {}}
TRIAD = {"nogen": dict(gen=False), "noprior": dict(prior=False), "noinv": dict(inv=False)}
KEYS = ("nmi", "density_auroc", "largest_cluster", "view_agreement")


def finite(history):
    return all(math.isfinite(v) for h in history for v in h.values())


def one_seed(s):
    torch.set_num_threads(1)
    cfg, out = GEDIConfig.for_profile("ci"), {}
    for name in ("moons", "circles"):
        for v, o in COMPARED.items():
            r = toy_run(name, replace(cfg, **o), s)
            out[name, v] = {k: r[k] for k in KEYS} | {"finite": finite(r["history"])}
    for v, o in TRIAD.items():
        r = toy_run("moons", replace(cfg, **AUTHOR, **o), s)
        out["triad", v] = {k: r[k] for k in KEYS} | {"finite": finite(r["history"])}
    icfg = GEDIImageConfig.for_profile("ci")
    d = load_images("mnist", "ci").subset(icfg.n_train, icfg.n_test)
    cifar = load_images("cifar10", "ci")
    grey28 = scale_pixels(F.interpolate(grayscale(cifar.x_test.float() / 255)[:, :1], size=28,
                                        mode="bilinear", antialias=True))
    for v, o in {"full": {}, "cluster-only": dict(gen=False)}.items():
        c = replace(icfg, **o)
        model, _, h = train_gedi(scale_pixels(d.x_train), c, "cpu", seed=s, progress=False)
        r = image_scores(model, scale_pixels(d.x_test), d.y_test, c, {"cifar": grey28}, s)
        out["mnist", v] = {k: r[k] for k in ("nmi", "chance_nmi", "clusters_used", "largest_cluster",
                                             "density_auroc", "auroc cifar")} | {"finite": finite(h)}
    print(s, {f"{k[0]}/{k[1]}": round(r["nmi"], 2) for k, r in out.items()}, flush=True)
    return out


def toy_margins(w):
    """The notebook's toy assertions on the runs of one window of seeds: name -> margin."""
    m = {}
    for name in ("moons", "circles"):
        full, nogen = [r[name, "full"] for r in w], [r[name, "cluster-only"] for r in w]
        m[f"{name}: uniformity on, largest cluster < 0.8"] = 0.8 - max(
            r[name, v]["largest_cluster"] for r in w for v in COMPARED if v != "energy-only")
        m[f"{name}: density AUROC full > cluster-only + 0.2"] = min(
            a["density_auroc"] - b["density_auroc"] for a, b in zip(full, nogen)) - 0.2
        m[f"{name}: best full NMI > 0.9"] = max(r["nmi"] for r in full) - 0.9
        m[f"{name}: 0.9 > best cluster-only NMI"] = 0.9 - max(r["nmi"] for r in nogen)
    m["circles: full at tau 0.1 NMI < 0.5 (straight cut)"] = 0.5 - max(r["circles", "full, tau 0.1"]["nmi"] for r in w)
    author = [r["moons", "full, tau 0.1"] for r in w]
    m["triad: full density AUROC > 0.8"] = min(r["density_auroc"] for r in author) - 0.8
    m["triad: full largest cluster < 0.8"] = 0.8 - max(r["largest_cluster"] for r in author)
    m["triad: no gen, density AUROC < 0.5 in >= 2 of 3 (count - 2)"] = sum(
        r["triad", "nogen"]["density_auroc"] < 0.5 for r in w) - 2
    m["triad: no uniformity, largest > 0.95 in >= 1 of 3 (count - 1)"] = sum(
        r["triad", "noprior"]["largest_cluster"] > 0.95 for r in w) - 1
    m["all toy histories finite (1 / 0)"] = float(all(v["finite"] for r in w for v in r.values()))
    return m


def image_margins(r):
    full, nogen = r["mnist", "full"], r["mnist", "cluster-only"]
    m = {"mnist: histories finite (1 / 0)": float(full["finite"] and nogen["finite"])}
    for v, x in (("full", full), ("cluster-only", nogen)):
        m[f"mnist {v}: NMI > 0.08"] = x["nmi"] - 0.08
        m[f"mnist {v}: 0.08 > 5 x chance NMI"] = 0.08 - 5 * x["chance_nmi"]
        m[f"mnist {v}: clusters used >= 6"] = x["clusters_used"] - 6
        m[f"mnist {v}: largest cluster < 0.6"] = 0.6 - x["largest_cluster"]
    m["mnist full: density AUROC > 0.95"] = full["density_auroc"] - 0.95
    m["mnist cluster-only: density AUROC < 0.5"] = 0.5 - nogen["density_auroc"]
    m["mnist: CIFAR AUROC full > cluster-only + 0.1"] = full["auroc cifar"] - nogen["auroc cifar"] - 0.1
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(12)))
    ap.add_argument("--workers", type=int, default=2)
    seeds = ap.parse_args().seeds
    with mp.get_context("spawn").Pool(ap.parse_args().workers) as pool:
        res = dict(zip(seeds, pool.map(one_seed, seeds)))
    windows = [[res[s + i] for i in range(3)] for s in seeds if all(s + i in res for i in range(3))]
    margin_table(f"toy assertions over {len(windows)} windows of 3 seeds", [toy_margins(w) for w in windows])
    margin_table(f"image assertions over {len(seeds)} seeds", [image_margins(res[s]) for s in seeds])
    print(f"\nfrequencies over seeds {seeds[0]}-{seeds[-1]} ({len(seeds)} seeds):")
    n = len(seeds)
    for name in ("moons", "circles"):
        for v in COMPARED:
            print(f"  {name} {v}: NMI >= 0.9 in {sum(res[s][name, v]['nmi'] >= 0.9 for s in seeds)} of {n}")
    big = sum(res[s]['moons', 'full, tau 0.1']['largest_cluster'] > 0.95 for s in seeds)
    print(f"  triad full (tau 0.1): largest > 0.95 in {big} of {n}")
    for v, k, f in (("nogen", "density_auroc", lambda a: a < 0.5), ("noprior", "largest_cluster", lambda a: a > 0.95),
                    ("noinv", "view_agreement", lambda a: a < 0.75)):
        vals = [res[s]["triad", v][k] for s in seeds]
        print(f"  triad {v}: {k} {min(vals):.2f}-{max(vals):.2f}, failure in {sum(map(f, vals))} of {n}")


if __name__ == "__main__":
    main()
