import os
import sys
import tempfile
from pathlib import Path

import pytest

# The browser harness and the load test are tools in tools/; the browser tests import them from there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

# Real MNIST lies beside the checkout here and in CI; elsewhere the app's own data folder is used.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if SHARED_DATA.is_dir():
    os.environ.setdefault("LENET_DATA_DIR", str(SHARED_DATA))
# The learners' store of in-process pages (AppTest): a folder of this run's own, never the user's.
os.environ["LENET_STORE_DIR"] = tempfile.mkdtemp(prefix="lenet-store-")


@pytest.fixture(scope="session")
def mnist():
    from lenet.network.data import load_mnist

    return load_mnist()


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


# GPU-only checks are not collected at all on machines without CUDA (CI): never a skip.
collect_ignore = [] if _cuda() else ["test_cuda_graph.py"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report kept on the test, so a fixture can tell that its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
