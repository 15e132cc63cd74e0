"""The code's own rules: the engine runs without the UI, layers without circles, one source for the
settings, lint-clean."""

import ast
import graphlib
import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lenet.cli import parser
from lenet.training.settings import PRESETS, TrainConfig, preset, settings

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted((ROOT / "lenet").rglob("*.py"))}
ENGINE = sorted(name for name in MODULES if not name.startswith("lenet.ui") and name != "lenet.__main__")


def imported(name: str) -> set[str]:
    """Every module `name` imports, at its top or inside a function (a lazy import counts too)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES}
    return found


def project_imports() -> dict[str, set[str]]:
    return {name: {m for m in imported(name) if m in MODULES and MODULES[m].stem != "__init__"} for name in MODULES}


@pytest.mark.slow
def test_the_engine_imports_neither_streamlit_nor_plotly():
    imports = "; ".join(f"import {name}" for name in ENGINE)
    check = "import sys; bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'plotly')]; print(bad)"
    result = subprocess.run(
        [sys.executable, "-c", f"{imports}; {check}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_no_engine_module_imports_the_ui_even_lazily():
    for name in ENGINE:
        assert not {
            m for m in imported(name) if m.split(".")[0] in ("streamlit", "plotly") or m.startswith("lenet.ui")
        }, name


def test_the_imports_have_no_circle_and_few_floors():
    graph = project_imports()
    floors: dict[str, int] = {}
    for name in graphlib.TopologicalSorter(graph).static_order():  # raises CycleError on a circle
        floors[name] = 1 + max((floors[m] for m in graph[name]), default=0)
    print(f"{len(floors)} modules on {max(floors.values())} floors")  # 34 on 14 before the layers had folders
    assert max(floors.values()) <= 10


def test_saved_records_know_nothing_of_threads_or_the_server():
    for name in ("lenet.store.records", "lenet.store.checkpoint"):
        assert not imported(name) & {"threading", "lenet.service.runs", "lenet.service.slots", "lenet.service"}, name
        assert not {m for m in imported(name) if m.startswith("lenet.service")}, name


@pytest.mark.parametrize("path", sorted((ROOT / "lenet").rglob("*.py")), ids=lambda p: p.name)
def test_no_module_is_over_300_lines(path):
    assert len(path.read_text().splitlines()) <= 300


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command):
    result = subprocess.run([sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cli_has_an_option_for_every_setting():
    options = {action.dest for action in parser()._actions}
    assert {f.name for f, _ in settings()} <= options


def test_every_setting_is_checked_against_its_range():
    for f, how in settings():
        if how.low is not None:
            with pytest.raises(ValueError, match=how.label):
                preset("fast", **{f.name: f.type(how.high) * 2 + 1})
    with pytest.raises(ValueError, match="Learning rate"):
        TrainConfig(lr=float("nan"))


def test_checkpoint_configs_hold_plain_values():
    for config in PRESETS.values():
        assert all(type(value) in (int, float, bool, str) for value in config.to_dict().values())


def test_the_streamlit_internals_the_app_leans_on_are_there():
    """A closed tab ends its run through Runtime.is_active_session (the browser test checks it works); a
    page run in Streamlit's first multipage mode clears its flag (navigation.run_as_declared)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    assert list(inspect.signature(Runtime.is_active_session).parameters) == ["self", "session_id"]
    assert callable(Runtime.exists) and callable(Runtime.instance) and callable(get_script_run_ctx)
    assert "uses_pages_directory" in vars(PagesManager)


def test_visitors_see_no_tracebacks():
    """A shared app shows an unexpected error as a short message; the traceback goes to the server's log."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
