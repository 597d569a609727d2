from rep_utils import sweep as sweep_module
from rep_utils.sweep import checkpoint_path, sweep


def test_checkpoint_names_come_from_chapter_variant_profile_and_seed(monkeypatch, tmp_path):
    monkeypatch.setattr(sweep_module, "CHECKPOINT_DIR", tmp_path)
    assert checkpoint_path("01_byol", "ci", "no target (τ = 0)", 3) == tmp_path / "01_byol_no_target_0_ci_3.pt"
    assert checkpoint_path("02", "colab", "MoCo v2", 0).name == "02_moco_v2_colab_0.pt"
    assert checkpoint_path("03", "ci", ("ICN", 100, 2), 1).name == "03_icn_100_2_ci_1.pt"


def test_sweep_runs_every_variant_at_every_seed_once(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sweep_module, "CHECKPOINT_DIR", tmp_path)
    calls = []

    def run(cfg, seed, checkpoint):
        calls.append((cfg, seed, checkpoint.name))
        return cfg * 10 + seed

    out = sweep(run, {"a": 1, "b": 2}, [0, 5], "ch", "ci")
    assert out == {"a": {0: 10, 5: 15}, "b": {0: 20, 5: 25}}
    assert calls == [(1, 0, "ch_a_ci_0.pt"), (1, 5, "ch_a_ci_5.pt"), (2, 0, "ch_b_ci_0.pt"), (2, 5, "ch_b_ci_5.pt")]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["a, seed 0", "a, seed 5", "b, seed 0", "b, seed 5"]
    assert all(line.endswith(" s") for line in lines)
    sweep(run, {("a", 3): 1}, [0], "ch", "ci")
    assert capsys.readouterr().out.startswith("a 3, seed 0: ")
    sweep(run, {"a": 1}, [0], "ch", "ci", verbose=False)
    assert capsys.readouterr().out == ""
