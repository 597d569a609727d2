"""environment.yml (conda) must list the same dependencies as pyproject.toml (pip)."""
import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(req: str) -> tuple[str, str]:
    name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", req).groups()
    return CONDA_NAMES.get(name, name).lower(), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str) and not d.startswith(("python", "pip"))]
    assert dict(map(_split, conda)) == dict(map(_split, pip))


def test_constraints_pin_a_matching_torch_pair():
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    # torchvision 0.N pairs with torch 2.(N-15): 0.29 <-> 2.14
    assert int(pins["torchvision"].split(".")[1]) - 15 == int(pins["torch"].split(".")[1])
