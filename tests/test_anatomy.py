import inspect
import threading

import torch
import torch.nn.functional as F

from lenet.network.anatomy import forward_steps, forward_table, parameter_table, walkthrough
from lenet.network.model import Net, parameter_count


def test_parameter_table_lists_every_tensor():
    rows = parameter_table(Net())
    assert [r["name"] for r in rows][:2] == ["conv1.weight", "conv1.bias"]
    assert rows[0]["shape"] == "[6, 1, 3, 3]"
    assert sum(r["count"] for r in rows) == 81_194


TUTORIAL_FORWARD = [
    "x = F.max_pool2d(F.relu(self.conv1(x)), 2)",
    "x = F.max_pool2d(F.relu(self.conv2(x)), 2)",
    "x = torch.flatten(x, 1)",
    "x = F.relu(self.fc1(x))",
    "x = F.relu(self.fc2(x))",
    "return self.fc3(x)",
]


def test_every_step_of_forward_is_listed_with_its_shape_and_line():
    table = forward_table(Net())
    rows = table.rows
    steps = [(row["step"], row["output shape"]) for row in rows]
    assert steps == [
        ("input x", "[1, 1, 32, 32]"),
        ("self.conv1 (a Conv2d)", "[1, 6, 30, 30]"),
        ("F.relu", "[1, 6, 30, 30]"),
        ("F.max_pool2d", "[1, 6, 15, 15]"),
        ("self.conv2 (a Conv2d)", "[1, 16, 13, 13]"),
        ("F.relu", "[1, 16, 13, 13]"),
        ("F.max_pool2d", "[1, 16, 6, 6]"),
        ("torch.flatten", "[1, 576]"),
        ("self.fc1 (a Linear)", "[1, 120]"),
        ("F.relu", "[1, 120]"),
        ("self.fc2 (a Linear)", "[1, 84]"),
        ("F.relu", "[1, 84]"),
        ("self.fc3 (a Linear)", "[1, 10]"),
    ]
    assert sum(row["parameters"] for row in rows) == parameter_count(Net())
    # each line of forward() once, in order, next to its first step
    lines = [row["forward() line"] for row in rows[1:] if row["forward() line"]]
    assert lines == TUTORIAL_FORWARD
    body = inspect.getsource(Net.forward).strip().splitlines()[1:]
    assert len(body) == len(TUTORIAL_FORWARD)  # a line shown per line that runs
    assert (table.flatten_in, table.flatten_out) == ([16, 6, 6], 576)


def test_the_steps_are_those_of_the_model_as_it_runs():
    net = Net()
    x = torch.randn(1, 1, 32, 32)
    steps = forward_steps(net, x)
    torch.testing.assert_close(steps[-1].output, net(x))  # the last step is the model's output
    conv1 = F.relu(net.conv1(x))
    torch.testing.assert_close(steps[1].output, conv1)
    torch.testing.assert_close(steps[4].output, F.relu(net.conv2(F.max_pool2d(conv1, 2))))


def test_recording_forward_does_not_disturb_another_thread():
    """A run trains in another thread while a page records forward(): that run must see plain calls."""
    net, other = Net(), Net()
    x = torch.randn(8, 1, 32, 32)
    expected = other(x)
    results, done = [], threading.Event()

    def train_like():
        while not done.is_set():
            results.append(torch.equal(other(x), expected))

    thread = threading.Thread(target=train_like)
    thread.start()
    for _ in range(200):
        forward_steps(net, x[:1])
    done.set()
    thread.join()
    assert results and all(results)


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
