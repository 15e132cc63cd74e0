"""Widgets whose values outlive visits to other pages."""

import streamlit as st


def remembered(name: str, default: object) -> str:
    """The key for a widget whose value outlives visits to other pages.

    Streamlit drops a widget's state on any run that does not draw it (another page, and also a
    timed fragment rerun after the user has left), so the value lives in a plain dict as well and
    seeds the widget again when it comes back.
    """
    values = remembered_values()
    key = f"widget_{name}"
    if key in st.session_state:  # the widget's own value wins: a new session (a reconnect that did not find
        values[name] = st.session_state[key]  # the old one) gets the browser's values, with no on_change
    else:
        st.session_state[key] = values.setdefault(name, default)
    return key


def remember(name: str) -> None:
    """`on_change` of a remembered widget."""
    remembered_values()[name] = st.session_state[f"widget_{name}"]


def set_remembered(name: str, value: object) -> None:
    remembered_values()[name] = value
    st.session_state[f"widget_{name}"] = value


def remembered_values() -> dict:
    """Every remembered widget's value, by name."""
    return st.session_state.setdefault("remembered", {})
