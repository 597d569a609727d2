"""The inverted VAE's digit task: the split, the class images and the greedy matching of dimensions to
digits."""
from dataclasses import replace

import torch

from rep_utils.data import ImageData
from rep_utils.ivae import M2, IVAEConfig
from rep_utils.ivae_digits import class_image_grid, class_images, digit_dimensions, judge, match_dimensions, untapped_mnist

CFG = IVAEConfig(classes=3, labelled_classes=2, z_dim=2, hidden_y=(5,), hidden_z=(4,), hidden_x=(6,))


def test_match_dimensions_greedy():
    # dims 0, 1 are labelled; the class images of dims 2..4 look like digits (4, 4, 2) with these probabilities
    probs = torch.tensor([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0],
                          [0, 0, .1, .2, .7], [0, 0, .1, 0, .9], [0, 0, .6, .3, .1]]).float()
    # dim 3 takes digit 4 (0.9), dim 4 takes digit 2 (0.6), dim 2 is left with digit 3
    assert match_dimensions(probs, 2) == [0, 1, 4, 2, 3]


def test_untapped_split_and_class_images():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    x = (torch.rand(60, 1, 2, 2, generator=g) * 255).to(torch.uint8)
    split = untapped_mnist(ImageData("mnist", "toy", x, y, x[:9], y[:9], list("abc")),
                           replace(CFG, n_unfeatured=6), seed=0)
    assert (split["y_l"].argmax(1) < 2).all() and len(split["x_u"]) == 60
    assert set(split["x_u"].unique().tolist()) <= {0.0, 1.0} and split["x_test"].shape == (9, 4)
    assert torch.allclose(split["y_u"].sum(1), torch.ones(6)) and split["y_u"].max() == 0.95
    assert ((split["z_u"] > CFG.z_lo) & (split["z_u"] < CFG.z_hi)).all()
    model = M2(4, CFG)
    assert class_images(model, split["x_l"], split["y_l"]).shape == (3, 4)
    assert class_images(model, split["x_l"], split["y_l"], torch.zeros(5, 2)).shape == (15, 4)
    grid = class_image_grid(model, split, torch.zeros(5, 2)).view(3, 6, 4)  # a row per class: canon, then 5
    assert torch.equal(grid[:, 0], class_images(model, split["x_l"], split["y_l"]))
    assert torch.allclose(grid[:, 1:], class_images(model, split["x_l"], split["y_l"], torch.zeros(5, 2)).view(3, 5, 4))


def test_digit_dimensions_names_the_most_frequent_dimension_of_each_new_digit():
    model = M2(4, CFG)  # classes 0, 1 labelled; digit 2 is the new one
    picks = torch.tensor([0] * 7 + [2] * 3 + [1] * 5)  # digit 2's ten images: 7 to dim 0; digit 0's: dim 1
    model.q_y_given_x = lambda x: torch.nn.functional.one_hot(picks, 3).float()
    split = {"x_test": torch.rand(15, 4), "t_test": torch.tensor([2] * 10 + [0] * 5)}
    assert digit_dimensions(model, split) == "2->dim 0 (70%)"


def test_judge_reads_the_first_n_binarised_digits():
    y = torch.arange(40) % 2
    x = torch.zeros(40, 1, 2, 2, dtype=torch.uint8)
    x[y == 1, :, 0] = 200  # class 1: top row bright, above the binarisation threshold 127
    x[:4] = 100  # dark below the threshold: binarised to empty images, labels of both classes
    classify = judge(ImageData("mnist", "toy", x, y, x, y, ["a", "b"]), n=30)
    probs = classify((x[4:].flatten(1) > 127).float())
    assert probs.shape == (36, 2) and (probs.argmax(1) == y[4:]).all()
    assert torch.allclose(probs.sum(1), torch.ones(36))
    # only the first 30 digits were read: flipping the labels of the rest changes nothing
    y2 = y.clone()
    y2[30:] = 1 - y2[30:]
    other = judge(ImageData("mnist", "toy", x, y2, x, y2, ["a", "b"]), n=30)
    assert torch.allclose(other((x.flatten(1) > 127).float()), classify((x.flatten(1) > 127).float()))
