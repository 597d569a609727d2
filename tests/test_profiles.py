import pytest

from rep_utils.profiles import PROFILES, resolve_profile
from rep_utils.supervised import SupervisedConfig


def test_explicit_profile_wins_over_environment(monkeypatch):
    monkeypatch.setenv("REP_PROFILE", "full")
    assert resolve_profile("CI ") == "ci"


def test_environment_is_the_default(monkeypatch):
    monkeypatch.setattr("rep_utils.profiles.has_gpu", lambda: True)
    monkeypatch.setenv("REP_PROFILE", "colab")
    assert resolve_profile(None) == "colab"


@pytest.mark.parametrize("value", ["", "  "])
def test_empty_profile_is_unset(monkeypatch, value):
    monkeypatch.setattr("rep_utils.profiles.has_gpu", lambda: False)
    monkeypatch.setenv("REP_PROFILE", value)
    assert resolve_profile(None) == "ci" and resolve_profile(value) == "ci"


@pytest.mark.parametrize("name", ["colab", "full"])
def test_gpu_profile_on_a_cpu_stops_unless_forced(monkeypatch, name):
    monkeypatch.setattr("rep_utils.profiles.has_gpu", lambda: False)
    monkeypatch.delenv("REP_FORCE_PROFILE", raising=False)
    with pytest.raises(RuntimeError) as err:
        resolve_profile(name)
    msg = str(err.value)
    assert "hours" in msg and "Change runtime type" in msg and "REP_FORCE_PROFILE=1" in msg
    monkeypatch.setenv("REP_FORCE_PROFILE", "1")
    assert resolve_profile(name) == name


def test_no_setting_picks_by_hardware(monkeypatch):
    monkeypatch.delenv("REP_PROFILE", raising=False)
    monkeypatch.setattr("rep_utils.profiles.has_gpu", lambda: False)
    assert resolve_profile(None) == "ci"
    monkeypatch.setattr("rep_utils.profiles.has_gpu", lambda: True)
    assert resolve_profile(None) == "colab"


@pytest.mark.parametrize("source", ["argument", "env"])
def test_unknown_profile_lists_the_valid_ones(monkeypatch, source):
    monkeypatch.setenv("REP_PROFILE", "bogus")
    with pytest.raises(ValueError) as err:
        resolve_profile("bogus" if source == "argument" else None)
    msg = str(err.value)
    assert "'bogus'" in msg and all(name in msg for name in PROFILES)
    assert ("REP_PROFILE" in msg) and ("parameters cell" in msg)


def test_every_profile_has_a_config():
    cfgs = {p: SupervisedConfig.for_profile(p) for p in PROFILES}
    assert cfgs["ci"].n_train is not None and cfgs["colab"].n_train is None


def _configs():
    """Every config class in the package with a ``for_profile``, with the datasets it accepts."""
    import importlib
    import inspect
    import pkgutil

    import rep_utils
    for mod in pkgutil.iter_modules(rep_utils.__path__):
        for name, cls in vars(importlib.import_module(f"rep_utils.{mod.name}")).items():
            if inspect.isclass(cls) and hasattr(cls, "for_profile") and cls.__module__ == f"rep_utils.{mod.name}":
                datasets = ("mnist", "cifar10") if "dataset" in inspect.signature(cls.for_profile).parameters else (None,)
                yield from ((cls, d) for d in datasets)


CONFIGS = sorted(set(_configs()), key=lambda c: (c[0].__name__, str(c[1])))


def test_configs_are_found():
    names = {c.__name__ for c, _ in CONFIGS}
    assert {"BYOLConfig", "SimSiamConfig", "ICNConfig", "GEDIImageConfig", "IVAEConfig", "SupervisedConfig"} <= names


@pytest.mark.parametrize("cls,dataset", CONFIGS, ids=lambda c: getattr(c, "__name__", str(c)))
@pytest.mark.parametrize("profile", PROFILES)
def test_every_for_profile_works_for_every_profile_and_dataset(cls, dataset, profile):
    cfg = cls.for_profile(profile) if dataset is None else cls.for_profile(profile, dataset)
    assert isinstance(cfg, cls)
    with pytest.raises(ValueError, match="choose one of"):
        cls.for_profile("bogus") if dataset is None else cls.for_profile("bogus", dataset)
