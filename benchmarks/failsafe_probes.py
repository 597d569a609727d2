"""The fail-safe probes of the Colab-path issue, re-run: each misuse, and what the package says or
does now (not run in CI; the unit tests assert the same behaviours). About 30 s on a CPU.

    python benchmarks/failsafe_probes.py
"""
import os
import tempfile
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from unittest import mock

os.environ.setdefault("TQDM_DISABLE", "1")
import torch  # noqa: E402

from rep_utils import data as data_mod  # noqa: E402
from rep_utils.checkpoints import check_writable, save_checkpoint  # noqa: E402
from rep_utils.evaluate import linear_probe  # noqa: E402
from rep_utils.icn import ICNConfig, train_icn  # noqa: E402
from rep_utils.profiles import resolve_profile  # noqa: E402
from rep_utils.sgld import sgld_sample  # noqa: E402
from rep_utils.train import fit  # noqa: E402

CPU = torch.device("cpu")


def probe(title, f):
    print(f"\n## {title}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = f()
            print(f"-> {out!r}" if out is not None else "-> ran")
        except Exception as e:
            print(f"-> {type(e).__name__}: {e}")
    for w in caught:
        print(f"-> warning: {w.message}")


def tiny_fit(path, epochs):
    lin = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    x = torch.randn(8, 2)

    def step(idx, g, k):
        loss = lin(x[idx]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    return fit({"model": lin, "opt": opt}, step, n=8, epochs=epochs, batch_size=4, seed=0, device=CPU, checkpoint=path,
               meta={"epochs": epochs})


def main():
    tmp = Path(tempfile.mkdtemp())
    with mock.patch.dict(os.environ, {"REP_PROFILE": ""}):
        probe("empty REP_PROFILE, no profile in the notebook", lambda: resolve_profile(None))
    probe("profile 'colab' on a CPU", lambda: resolve_profile("colab"))
    with mock.patch.dict(os.environ, {"REP_FORCE_PROFILE": "1"}):
        probe("profile 'colab' on a CPU with REP_FORCE_PROFILE=1", lambda: resolve_profile("colab"))
    probe("an unknown profile", lambda: resolve_profile("gpu"))

    def failing_download(name, download):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")
    with mock.patch.object(data_mod, "has_internet", return_value=True), \
            mock.patch.object(data_mod, "_from_torchvision", failing_download):
        probe("a failing download (network up), offline copy present",
              lambda: data_mod.load_images("mnist", "ci").describe())
        with mock.patch.object(data_mod, "_offline", return_value=None):
            probe("a failing download and no offline copy", lambda: data_mod.load_images("mnist", "ci"))
    (tmp / "file").write_text("")
    probe("an unwritable checkpoint folder (a path under a file)", lambda: check_writable(tmp / "file" / "ck"))
    (tmp / "garbage.pt").write_bytes(b"not a checkpoint")
    probe("a garbage checkpoint", lambda: len(tiny_fit(tmp / "garbage.pt", 1)))
    tiny_fit(tmp / "short.pt", 1)
    probe("the same run with more epochs", lambda: len(tiny_fit(tmp / "short.pt", 2)))
    errors = []

    def saver():
        for _ in range(20):
            try:
                save_checkpoint(tmp / "shared.pt", {"x": torch.zeros(1000)})
            except Exception as e:
                errors.append(e)
    threads = [threading.Thread(target=saver) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    probe("two runs saving the same checkpoint path 20 times each",
          lambda: f"{len(errors)} failed saves of 40; left behind: {sorted(p.name for p in tmp.glob('shared*'))}")
    x = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    y = torch.arange(64) % 10
    data = data_mod.ImageData("mnist", "random", x, y, x, y, [str(i) for i in range(10)])
    cfg = replace(ICNConfig(), n_train=64, n_test=64, width=4, rounds=1, epochs_per_round=1,
                  batch_size=16, lr=1e12, introspective=False)
    probe("ICN with a diverging learning rate (1e12)", lambda: train_icn(data, cfg, CPU)[1])
    probe("a sampler that pins most chains to the box",
          lambda: sgld_sample(lambda v: 100 * v.sum(1), torch.zeros(100, 2), 5, 0.1, 0.0,
                              clamp=(-3.0, 3.0), warn_pinned=0.5).shape)
    probe("a config with batch_size 0", lambda: ICNConfig(batch_size=0))
    probe("a config with epochs_per_round 0", lambda: ICNConfig(epochs_per_round=0))
    probe("a batch larger than the data", lambda: ICNConfig(n_train=10, batch_size=64))
    f, t = torch.randn(200, 5), torch.randint(0, 3, (200,))
    first = linear_probe(f, t, f, t)
    torch.rand(1000)
    probe("the linear probe after other random draws", lambda: linear_probe(f, t, f, t) == first)


if __name__ == "__main__":
    main()
