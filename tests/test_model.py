import torch
import torch.nn.functional as F

from lenet.network.model import Net, parameter_count

TUTORIAL_PRINT = """Net(
  (conv1): Conv2d(1, 6, kernel_size=(3, 3), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(3, 3), stride=(1, 1))
  (fc1): Linear(in_features=576, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)"""


def test_prints_exactly_as_the_tutorial():
    assert str(Net()) == TUTORIAL_PRINT


def test_parameters_match_the_tutorial():
    shapes = [tuple(p.shape) for p in Net().parameters()]
    assert len(shapes) == 10
    assert shapes[0] == (6, 1, 3, 3)
    assert shapes == [(6, 1, 3, 3), (6,), (16, 6, 3, 3), (16,), (120, 576), (120,), (84, 120), (84,), (10, 84), (10,)]
    assert parameter_count(Net()) == 81_194


def test_forward_matches_the_tutorial_written_out_by_hand():
    torch.manual_seed(0)
    net, x = Net(), torch.randn(4, 1, 32, 32)
    w = dict(net.named_parameters())
    h = F.max_pool2d(torch.relu(F.conv2d(x, w["conv1.weight"], w["conv1.bias"])), (2, 2))
    h = F.max_pool2d(torch.relu(F.conv2d(h, w["conv2.weight"], w["conv2.bias"])), (2, 2))
    h = h.reshape(4, -1)
    h = torch.relu(h @ w["fc1.weight"].T + w["fc1.bias"])
    h = torch.relu(h @ w["fc2.weight"].T + w["fc2.bias"])
    expected = h @ w["fc3.weight"].T + w["fc3.bias"]
    out = net(x)
    assert out.shape == (4, 10)
    torch.testing.assert_close(out, expected)
