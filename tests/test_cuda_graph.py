"""The CUDA graph step against the eager step: only collected where CUDA exists (see conftest)."""

import torch

from lenet.network.model import Net
from lenet.training.events import Finished
from lenet.training.settings import preset
from lenet.training.train import fit


def train(config, mnist):
    torch.manual_seed(0)
    model = Net()
    events = list(fit(model, config, mnist))
    assert isinstance(events[-1], Finished) and events[-1].reason == "completed"
    return model, [loss for e in events if hasattr(e, "losses") for loss in e.losses]


def test_graph_and_eager_steps_agree(mnist):
    config = preset("fast", epochs=1, train_subset=128 * 20, device="cuda")
    graph, graph_losses = train(config, mnist)
    eager, eager_losses = train(preset("fast", epochs=1, train_subset=128 * 20, device="cuda", cuda_graph=False), mnist)
    assert len(graph_losses) == len(eager_losses) == 20
    torch.testing.assert_close(torch.tensor(graph_losses), torch.tensor(eager_losses), rtol=1e-4, atol=1e-5)
    for a, b in zip(graph.parameters(), eager.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    worst = max(((a - b).norm() / b.norm()).item() for a, b in zip(graph.parameters(), eager.parameters(), strict=True))
    print(f"graph vs eager after 20 steps: largest relative difference {worst:.2e}")


def test_graph_path_continues_from_momentum_of_an_earlier_run(mnist):
    config = preset("fast", epochs=1, train_subset=128 * 10, device="cuda")
    results = []
    for use_graph in (True, False):
        torch.manual_seed(0)
        model = Net()
        first = list(fit(model, config, mnist))[-1]
        second_config = preset("fast", epochs=1, train_subset=128 * 10, device="cuda", cuda_graph=use_graph)
        list(fit(model, second_config, mnist, optimizer_state=first.optimizer_state))
        results.append(model)
    for a, b in zip(results[0].parameters(), results[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_graph_snapshots_land_on_the_planned_steps_and_match_the_eager_ones(mnist):
    """Snapshots between graph replays: a replay is cut short to end on a planned step, never broken."""
    from lenet.training.snapshots import Snapshot, plan

    runs = []
    for use_graph in (True, False):
        torch.manual_seed(0)
        config = preset("fast", epochs=2, train_subset=128 * 50, device="cuda", cuda_graph=use_graph)
        runs.append([e for e in fit(Net(), config, mnist, snapshots=True) if isinstance(e, Snapshot)])
    graph, eager = runs
    assert [s.step for s in graph] == [s.step for s in eager] == plan(100, 50)
    for a, b in zip(graph, eager, strict=True):
        assert all(t.device.type == "cpu" and t.dtype == torch.float16 for t in a.weights.values())
        for name in a.weights:
            torch.testing.assert_close(a.weights[name].float(), b.weights[name].float(), rtol=1e-2, atol=1e-3)
