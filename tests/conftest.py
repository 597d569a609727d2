import pytest
import torch

from rep_utils.data import ImageData


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


@pytest.fixture
def one_thread():
    """Tiny tensors: thread start-up costs more than the work (and far more on a busy machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class TinyEncoder(torch.nn.Module):
    """Flatten-Linear-ReLU with the ``feature_dim`` the self-supervised methods read: a backbone
    small enough for unit tests."""

    def __init__(self, d_in: int, d: int):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(d_in, d), torch.nn.ReLU())
        self.feature_dim = d

    def forward(self, x):
        return self.net(x)


@pytest.fixture
def tiny_encoder():
    """``tiny_encoder(d_in, d)`` builds a :class:`TinyEncoder`."""
    return TinyEncoder


@pytest.fixture
def toy_images() -> ImageData:
    """96 8x8 grey images of 4 bar patterns with noise (test set: the first 32)."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(96) % 4
    x = torch.zeros(96, 1, 8, 8)
    for c in range(4):
        x[y == c, :, 2 * c:2 * c + 2, :] = 1.0
    x = ((0.8 * x + 0.2 * torch.rand(x.shape, generator=g)) * 255).to(torch.uint8)
    return ImageData("mnist", "toy", x, y, x[:32], y[:32], list("abcd"))
