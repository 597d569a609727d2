"""Backbones (defined in the Setup chapter). A backbone's ``forward`` returns its representation,
a vector of size ``feature_dim``; heads (classifiers, projectors) are added by each method."""
from __future__ import annotations

import torch
import torchvision
from torch import nn


class SmallCNN(nn.Module):
    """Three conv blocks (conv-BN-ReLU, 2x2 max-pool) and global average pooling: a fast backbone
    for 28x28 digits and for CPU runs on 32x32 images."""

    def __init__(self, in_channels: int = 1, width: int = 32):
        super().__init__()
        chans = [in_channels, width, 2 * width, 4 * width]
        layers = []
        for cin, cout in zip(chans, chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.feature_dim = chans[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ResNet18Cifar(nn.Module):
    """torchvision's ResNet-18 with the CIFAR stem used by SimCLR/BYOL ports: a 3x3 stride-1 first
    convolution and no max-pool, so 32x32 inputs keep their resolution; the 512-d pooled output is
    the representation (the ``fc`` layer is removed)."""

    def __init__(self, in_channels: int = 3):
        super().__init__()
        net = torchvision.models.resnet18(weights=None)
        net.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
        net.fc = nn.Identity()
        self.net = net
        self.feature_dim = 512

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Classifier(nn.Module):
    """A backbone and a linear head; ``features`` returns the representation before the head."""

    def __init__(self, backbone: nn.Module, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def mlp(in_dim: int, hidden_dim: int, out_dim: int, batch_norm: bool = True) -> nn.Sequential:
    """The self-supervised heads: Linear-BN-ReLU-Linear, no BN on the output (BYOL's projector and
    predictor, Sec. 3.3; SimCLR's projector); ``batch_norm=False``: Linear-ReLU-Linear (MoCo v2)."""
    norm = [nn.BatchNorm1d(hidden_dim)] if batch_norm else []
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), *norm, nn.ReLU(inplace=True),
                         nn.Linear(hidden_dim, out_dim, bias=not batch_norm))


def make_backbone(name: str, in_channels: int) -> nn.Module:
    """``'small_cnn'`` or ``'resnet18'`` by name, as the profiles name them."""
    makers = {"small_cnn": SmallCNN, "resnet18": ResNet18Cifar}
    if name not in makers:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {sorted(makers)}.")
    return makers[name](in_channels)
