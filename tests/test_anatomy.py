import torch

from lenet.anatomy import layer_shapes, parameter_table, walkthrough
from lenet.model import Net


def test_parameter_table_lists_every_tensor():
    rows = parameter_table(Net())
    assert [r["name"] for r in rows][:2] == ["conv1.weight", "conv1.bias"]
    assert rows[0]["shape"] == "[6, 1, 3, 3]"
    assert sum(r["count"] for r in rows) == 81_194


def test_layer_shapes_follow_the_tutorials_comments():
    shapes = {row["layer"]: row["output shape"] for row in layer_shapes(Net())}
    assert shapes == {
        "input": "[1, 1, 32, 32]",
        "conv1": "[1, 6, 30, 30]",
        "conv2": "[1, 16, 13, 13]",
        "fc1": "[1, 120]",
        "fc2": "[1, 84]",
        "fc3": "[1, 10]",
    }


def test_walkthrough_matches_a_hand_run_and_leaves_the_model_alone():
    torch.manual_seed(0)
    net = Net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    steps = walkthrough(net, seed=3)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])
        assert net.get_parameter(k).grad is None
    assert torch.equal(steps.bias_grad_before, torch.zeros(6))
    assert steps.bias_grad_after.abs().sum() > 0

    # The same steps by hand, as the tutorial writes them.
    expected_loss = torch.nn.MSELoss()(net(steps.input), steps.target)
    expected_loss.backward()
    assert abs(steps.loss - expected_loss.item()) < 1e-6
    torch.testing.assert_close(steps.bias_grad_after, net.conv1.bias.grad)
    largest = {row["name"]: row["largest change"] for row in steps.parameter_change}
    assert abs(largest["conv1.bias"] - 0.01 * net.conv1.bias.grad.abs().max().item()) < 1e-7
