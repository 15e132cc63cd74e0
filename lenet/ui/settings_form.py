"""The Train page's settings, one widget per field of `TrainConfig`, made from the fields' descriptions."""

from dataclasses import Field
from enum import StrEnum

import streamlit as st

from lenet.training.devices import device_choices
from lenet.training.settings import PRESET_HELP, PRESETS, Setting, TrainConfig, preset, settings
from lenet.ui import remembered

DEFAULT_PRESET = "fast"
COLUMNS = {"main": 4, "more": 3}


def _shown(how: Setting, value: object) -> object:
    """A setting's value as its widget holds it: typed settings as text."""
    return f"{value:g}" if how.typed else value


def _apply_preset() -> None:
    remembered.remember("preset")
    values = PRESETS[remembered.remembered_values()["preset"]].to_dict()
    for f, how in settings():
        if how.page is not None:
            remembered.set_remembered(f.name, _shown(how, values[f.name]))


def _widget(container, f: Field, how: Setting) -> None:
    key = remembered.remembered(f.name, _shown(how, PRESETS[DEFAULT_PRESET].to_dict()[f.name]))
    common = {"key": key, "help": how.help, "on_change": remembered.remember, "args": (f.name,)}
    if how.typed:
        container.text_input(how.label, **{**common, "help": f"{how.help} ({how.range_text})"})
    elif f.type is bool:
        container.checkbox(how.label, **common)
    elif how.options:
        container.selectbox(how.label, how.options, format_func=how.name_of, **common)
    elif isinstance(f.type, type) and issubclass(f.type, StrEnum):
        container.selectbox(how.label, [str(choice) for choice in f.type], **common)
    elif f.name == "device":
        container.selectbox(how.label, device_choices(), **common)
    else:
        low, high = f.type(how.low), f.type(how.high)
        step = f.type(how.step) if how.step is not None else None
        container.number_input(how.label, low, high, step=step, **common)


def settings_form() -> None:
    """The preset and every setting a page shows; their values live in `remembered.remembered_values()`."""
    rows = {"main": [], "more": []}
    for f, how in settings():
        if how.page is not None:
            rows[how.page].append((f, how))
    main = st.columns(COLUMNS["main"])
    main[0].selectbox(
        "Preset",
        sorted(PRESETS),
        key=remembered.remembered("preset", DEFAULT_PRESET),
        on_change=_apply_preset,
        help=PRESET_HELP,
    )
    for i, (f, how) in enumerate(rows["main"], start=1):
        if i % COLUMNS["main"] == 0:
            main = st.columns(COLUMNS["main"])
        _widget(main[i % COLUMNS["main"]], f, how)
    with st.expander("More settings"):
        more = st.columns(COLUMNS["more"])
        for i, (f, how) in enumerate(rows["more"]):
            _widget(more[i % COLUMNS["more"]], f, how)


def chosen_config() -> TrainConfig:
    """The settings as the form shows them; ValueError, with the setting's range, for a value out of it."""
    values = remembered.remembered_values()
    chosen = {}
    for f, how in settings():
        if how.page is None or f.name not in values:
            continue
        value = chosen[f.name] = values[f.name]
        if how.typed:
            try:
                chosen[f.name] = float(value)
            except ValueError:
                raise ValueError(f"{how.label} must be a number from {how.range_text}, not {value!r}") from None
    return preset(values.get("preset", DEFAULT_PRESET), **chosen)


def show(config: TrainConfig) -> None:
    """Set the form to `config`'s values: what a run started from elsewhere on the page trains with."""
    values = config.to_dict()
    for f, how in settings():
        if how.page is not None:
            remembered.set_remembered(f.name, _shown(how, values[f.name]))
