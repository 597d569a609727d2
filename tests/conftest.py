import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


class TinyEncoder(torch.nn.Module):
    """Flatten-Linear-ReLU with the ``feature_dim`` the self-supervised methods read: a backbone
    small enough for unit tests (tests import it from here)."""

    def __init__(self, d_in: int, d: int):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(d_in, d), torch.nn.ReLU())
        self.feature_dim = d

    def forward(self, x):
        return self.net(x)
