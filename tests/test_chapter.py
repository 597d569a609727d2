import pytest
import torch

from rep_utils.byol import BYOLConfig
from rep_utils.chapter import setup


def test_setup_resolves_configs_overrides_and_numbers(capsys):
    s = setup("Chapter X", "ci", 3, configs={"byol": (BYOLConfig.for_profile, {"epochs": 2, "n_train": None})},
              numbers={"seeds": (None, {"ci": [0, 1], "colab": [0], "full": [0]}),
                       "n_judge": (7, {p: 1 for p in ("ci", "colab", "full")})},
              device="cpu")
    assert (s.profile, s.seed, s.device) == ("ci", 3, torch.device("cpu"))
    assert s.byol.epochs == 2 and s.byol.n_train == BYOLConfig.for_profile("ci").n_train  # None: kept
    assert s.seeds == [0, 1] and s.n_judge == 7
    assert torch.initial_seed() == 3
    out = capsys.readouterr().out
    assert "Chapter X: profile ci, seed 3; seeds [0, 1], n_judge 7" in out and "byol: BYOLConfig(" in out


def test_setup_names_unknown_fields_and_missing_defaults():
    with pytest.raises(ValueError, match=r"\['epoch'\] are not fields of BYOLConfig"):
        setup("X", "ci", configs={"byol": (BYOLConfig.for_profile, {"epoch": 2})}, device="cpu")
    with pytest.raises(ValueError, match=r"no default for the profiles \['full'\]"):
        setup("X", "ci", numbers={"seeds": (None, {"ci": [0], "colab": [0]})}, device="cpu")


def test_configs_may_depend_on_the_resolved_numbers():
    s = setup("X", "ci", numbers={"epochs": (None, {"ci": 4, "colab": 6, "full": 9})},
              configs=lambda n: {"byol": (BYOLConfig.for_profile, {"epochs": n["epochs"]})}, device="cpu")
    assert s.byol.epochs == s.epochs == 4
