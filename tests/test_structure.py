"""The code's own rules: the engine runs without the UI, one source for the settings, lint-clean."""

import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lenet.cli import parser
from lenet.settings import PRESETS, TrainConfig, preset, settings

ROOT = Path(__file__).resolve().parents[1]
ENGINE = sorted(p.stem for p in (ROOT / "lenet").glob("*.py") if p.stem != "__init__")


def test_the_engine_imports_neither_streamlit_nor_plotly():
    imports = "; ".join(f"import lenet.{name}" for name in ENGINE)
    check = "import sys; bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'plotly')]; print(bad)"
    result = subprocess.run(
        [sys.executable, "-c", f"{imports}; {check}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


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
    """A closed tab ends its run through Runtime.is_active_session (the browser test checks it works)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    assert list(inspect.signature(Runtime.is_active_session).parameters) == ["self", "session_id"]
    assert callable(Runtime.exists) and callable(Runtime.instance) and callable(get_script_run_ctx)


def test_visitors_see_no_tracebacks():
    """A shared app shows an unexpected error as a short message; the traceback goes to the server's log."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
