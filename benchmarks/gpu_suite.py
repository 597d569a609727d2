"""The GPU suite: on one GPU machine without internet, in priority order and within a time budget
(default 9 minutes, installs included):

1. the BYOL throughput benchmark (``benchmarks/augment_throughput.py``: batched on-device
   augmentation against the per-image torchvision DataLoader with 2 workers, same model and
   batch, with the achieved fraction of the GPU's dense bf16 peak);
2. every chapter in the ``colab`` profile on the full-size offline data, executed by papermill,
   each under a time cap (the budget left, shared among the chapters left).

Executed notebooks and ``gpu_suite.json`` (timings, return codes, output tails) go to ``--out``.
The machine lacks papermill, nbclient and ipykernel and has no internet, so the suite brings them
as wheels in ``.whl/`` and the data in ``.device_data/`` (both git-ignored); ``--prepare`` fills
both here, where the registry and ``../shared/data`` are reachable. ``--dry-run`` runs the same
plumbing on the CPU in a few minutes: tiny benchmark sizes, the ci profile, short caps, the
wheel set checked for completeness instead of installed.

    python benchmarks/gpu_suite.py --prepare            # here, once
    python benchmarks/gpu_suite.py --dry-run --out _build/gpu-dry
    python3 benchmarks/gpu_suite.py --out "$OUT"        # on the GPU machine
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WHEELS, DATA = REPO / ".whl", REPO / ".device_data"
DATA_FILES = ("mnist_full.npz", "cifar10_jpeg.npz")  # all the colab profile reads offline
NEEDED = ("papermill==2.7.0", "nbclient==0.11.0", "ipykernel==7.4.0")
PY = "3.12"  # the GPU machine's Python (see the device notes)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")
# Already in the GPU machine's image (its package list): not carried, so never shadowed.
DEVICE_HAS = {"attrs", "certifi", "charset-normalizer", "click", "idna", "jinja2", "packaging", "psutil",
              "pygments", "python-dateutil", "pyyaml", "requests", "tqdm", "typing-extensions", "urllib3",
              "six", "numpy", "torch", "torchvision", "matplotlib", "scikit-learn", "scipy", "pandas",
              "aiohttp", "aiosignal", "frozenlist", "multidict", "yarl", "propcache", "aiohappyeyeballs"}
# Dense bf16 tensor-core peaks in TFLOP/s from the vendors' data sheets (T4 and V100: fp16).
PEAKS = {"H200": 989, "H100": 989, "A100": 312, "L4": 121, "A10": 125, "T4": 65, "V100": 125}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_project(path: Path) -> str:
    return canonical(path.name.split("-")[0])


def prepare() -> None:
    """Here: copy the full-size data and download the wheels for the GPU machine's Python."""
    sys.path.insert(0, str(REPO))
    from rep_utils.data import offline_candidates, verify

    DATA.mkdir(exist_ok=True)
    src = next(f for f in offline_candidates() if (f / DATA_FILES[0]).is_file())
    for name in DATA_FILES:
        verify(src / name, "../shared/data")
        shutil.copy2(src / name, DATA / name)
    plat = [a for p in PLATFORMS for a in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--python-version",
                    PY, "--implementation", "cp", *plat, "-d", str(WHEELS), *NEEDED], check=True)
    for w in WHEELS.glob("*.whl"):
        if wheel_project(w) in DEVICE_HAS:
            w.unlink()
    print(f"{DATA}: {', '.join(DATA_FILES)}; {WHEELS}: {len(list(WHEELS.glob('*.whl')))} wheels")


def missing_requirements() -> list[str]:
    """Requirements of the carried wheels (for CPython 3.12 on Linux) that neither another carried
    wheel nor the GPU machine's image provides: each would fail the import there."""
    from packaging.requirements import Requirement

    env = {"python_version": PY, "python_full_version": PY + ".0", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    wheels = sorted(WHEELS.glob("*.whl"))
    have = {wheel_project(w) for w in wheels} | DEVICE_HAS
    missing = []
    for w in wheels:
        with zipfile.ZipFile(w) as z:
            meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        for line in meta.splitlines():
            if line.startswith("Requires-Dist:"):
                req = Requirement(line.split(":", 1)[1].strip())
                if (req.marker is None or req.marker.evaluate(env)) and canonical(req.name) not in have:
                    missing.append(f"{req.name} (needed by {w.name})")
    return missing


def install(site: Path) -> dict:
    """Install the carried wheels into ``site`` (GPU machine), or check the set (dry run)."""
    t0 = time.perf_counter()
    if not WHEELS.is_dir():
        raise SystemExit(f"No {WHEELS.name}/ folder: run `python benchmarks/gpu_suite.py --prepare` "
                         "first, and carry .whl and .device_data to the GPU machine.")
    missing = missing_requirements()
    if missing:
        raise SystemExit("The carried wheels lack: " + "; ".join(missing) + ". Run --prepare again.")
    if sys.version_info[:2] == tuple(map(int, PY.split("."))):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                        "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, WHEELS.glob("*.whl"))],
                       check=True)
        how = f"installed {len(list(WHEELS.glob('*.whl')))} wheels"
    else:  # here (another Python): the wheels are checked, this environment's papermill runs
        how = f"wheel set checked (Python {platform.python_version()} here, {PY} there)"
    return {"name": "install", "status": how, "wall_s": round(time.perf_counter() - t0, 1)}


def run(name: str, cmd: list[str], cap: float, env: dict, **extra) -> dict:
    """Run ``cmd`` under a wall-clock cap; keep its exit code and the end of its output."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=cap, cwd=extra.pop("cwd", REPO))
        status, out = ("ok" if p.returncode == 0 else f"failed (exit {p.returncode})"), p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        status = f"stopped at its {cap:.0f} s cap"
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
    wall = round(time.perf_counter() - t0, 1)
    print(f"{name}: {status} after {wall} s", flush=True)
    return {"name": name, "status": status, "wall_s": wall, "cap_s": round(cap), "cmd": " ".join(cmd),
            **extra, "output_tail": out[-3000:]}


def gpu_peak(name: str) -> float | None:
    return next((v for k, v in PEAKS.items() if k in name), None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "_build" / "gpu")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds for everything, installs included (default 540; dry run 180)")
    ap.add_argument("--dry-run", action="store_true", help="the plumbing on the CPU, tiny sizes, ci profile")
    ap.add_argument("--prepare", action="store_true", help="fill .whl/ and .device_data/ (here, online)")
    ap.add_argument("--chapters", nargs="*", default=None, help="notebook stems (default: all, in order)")
    args = ap.parse_args()
    if args.prepare:
        return prepare()
    t_start = time.perf_counter()
    args.budget = args.budget or (180 if args.dry_run else 540)
    args.out = args.out.resolve()  # papermill runs in the scratch folder
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path("/tmp/gpu_suite")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    steps = [install(scratch / "site")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(scratch / "site"), str(REPO), os.environ.get("PYTHONPATH", "")]),
           "REP_CHECKPOINT_DIR": str(scratch / "checkpoints")}
    if not args.dry_run:  # the dry run's ci profile reads the exact subsets from ../shared/data
        if not all((DATA / f).is_file() for f in DATA_FILES):
            raise SystemExit(f"No {DATA.name}/ with {', '.join(DATA_FILES)}: run --prepare and carry it.")
        env.update(REP_DATA_DIR=str(DATA), REP_PROFILE="colab")

    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    if args.dry_run:
        bench = ["--backbone", "small_cnn", "--hidden", "64", "--out", "32", "--batch-size", "32", "--steps", "3"]
        profile, env["OMP_NUM_THREADS"] = "ci", "1"
    else:
        bench = ["--backbone", "resnet18", "--batch-size", "256", "--steps", "30"]
        profile = "colab"
        if gpu_peak(device):
            bench += ["--peak-tflops", str(gpu_peak(device))]
    steps.append(run("byol_throughput", [sys.executable, str(REPO / "benchmarks" / "augment_throughput.py"), *bench],
                     min(240, args.budget / 3), env))

    notebooks = sorted((REPO / "notebooks").glob("0*.ipynb"))
    if args.chapters:
        notebooks = [nb for nb in notebooks if nb.stem in args.chapters]
    for i, nb in enumerate(notebooks):
        left = args.budget - (time.perf_counter() - t_start)
        if left < 20:
            steps.append({"name": nb.stem, "status": "not run: budget spent"})
            continue
        cap = left / (len(notebooks) - i)
        steps.append(run(nb.stem, [sys.executable, "-m", "papermill", "--cwd", str(scratch), "-p", "profile",
                                   profile, "--log-level", "WARNING", str(nb), str(args.out / nb.name)],
                         cap, env, profile=profile, cwd=scratch))
    summary = {"device": device, "dry_run": args.dry_run, "profile": profile, "python": platform.python_version(),
               "torch": torch.__version__, "data": env.get("REP_DATA_DIR", "../shared/data").replace(str(REPO), "."),
               "budget_s": args.budget, "total_s": round(time.perf_counter() - t_start, 1), "steps": steps}
    (args.out / "gpu_suite.json").write_text(json.dumps(summary, indent=2))
    print(f"{summary['total_s']} s in all; executed notebooks and gpu_suite.json in {args.out}")


if __name__ == "__main__":
    main()
