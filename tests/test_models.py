import torch

from rep_utils.models import Classifier, ResNet18Cifar, SmallCNN, make_backbone


def test_small_cnn_feature_and_logit_shapes():
    m = Classifier(SmallCNN(1), 10)
    x = torch.randn(4, 1, 28, 28)
    assert m.features(x).shape == (4, 128) and m(x).shape == (4, 10)


def test_resnet18_cifar_stem_keeps_resolution():
    net = ResNet18Cifar()
    assert net.net.conv1.stride == (1, 1) and net.net.conv1.kernel_size == (3, 3)
    assert isinstance(net.net.maxpool, torch.nn.Identity)
    feats = {}
    net.net.layer1.register_forward_hook(lambda m, i, o: feats.update(l1=o.shape))
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 512)
    assert feats["l1"][-2:] == (32, 32)  # no down-sampling before layer1


def test_make_backbone_by_name():
    assert make_backbone("small_cnn", 3).feature_dim == 128
    try:
        make_backbone("vit", 3)
    except ValueError as e:
        assert "resnet18" in str(e)
    else:
        raise AssertionError("unknown backbone accepted")
