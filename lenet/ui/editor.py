"""Build your own LeNet: the network's shape as widgets, and at once what PyTorch makes of it: `print(net)`,
`forward()` as the tutorial would write it, every step's shape, the parameter count; or the very error
PyTorch raises, which two numbers disagree and why, and the fix. "Use this network" makes it the
session's model, fresh weights from start seed 0; every page then trains, reads and explains it.
"""

from collections.abc import Callable

import streamlit as st

from lenet.network.anatomy import forward_table
from lenet.network.architecture import (
    ACTIVATIONS,
    CHANNELS,
    KERNELS,
    MAX_PARAMETERS,
    PADDING,
    POOLINGS,
    TUTORIAL,
    UNITS,
    Architecture,
    ArchitectureError,
)
from lenet.network.model import Net
from lenet.service.workspace import Refused, Workspace
from lenet.ui import bring_back, session

KEY = "arch_"  # the editor's widgets, in the session: arch_conv1_channels, ...
FOLLOWS, PINNED = "follows the flatten", "pinned to a number"
USE_SEED = 0


def readable(rows: list[dict], column: str = "parameters") -> list[dict]:
    """A table with its counts in `column` as a person reads them: 69,240."""
    return [{**row, column: f"{row[column]:,}"} for row in rows]


def _set(values: dict) -> Callable[[], None]:
    """A button's callback that sets widgets before they are drawn again (they cannot be set after)."""

    def apply() -> None:
        for name, value in values.items():
            st.session_state[KEY + name] = value

    return apply


def _fields(arch: Architecture) -> dict:
    values = {name: getattr(arch, name) for name in vars(arch) if name != "fc1_inputs"}
    values["fc1_mode"] = FOLLOWS if arch.fc1_inputs is None else PINNED
    values["fc1_inputs"] = arch.fc1_inputs or arch.flatten_size
    return values


def _widgets(current: Architecture) -> Architecture:
    """The widgets, first filled with the session's network; what they say now."""
    for name, value in _fields(current).items():
        st.session_state.setdefault(KEY + name, value)
    left, middle, right = st.columns(3)
    number = {"step": 1, "min_value": CHANNELS[0], "max_value": CHANNELS[1]}
    with left:
        conv1 = st.number_input("conv1 channels (filters)", key=KEY + "conv1_channels", **number)
        conv2 = st.number_input("conv2 channels (filters)", key=KEY + "conv2_channels", **number)
        kernel = st.radio(
            "Kernel size", KERNELS, key=KEY + "kernel_size", horizontal=True, format_func=lambda k: f"{k} x {k}"
        )
    with middle:
        padding = st.radio(
            "Padding",
            range(PADDING[0], PADDING[1] + 1),
            key=KEY + "padding",
            horizontal=True,
            help="Zeros added around each map before a convolution: 1 keeps a 3 x 3's map its size.",
        )
        pooling = st.radio(
            "Pooling",
            POOLINGS,
            key=KEY + "pooling",
            horizontal=True,
            help="max: the largest of each 2 x 2 (the tutorial's); avg: their mean; none: no halving.",
        )
        activation = st.radio(
            "Activation",
            ACTIVATIONS,
            key=KEY + "activation",
            horizontal=True,
            help="relu: max(0, x) (the tutorial's); tanh and sigmoid squash every number into -1..1 or 0..1.",
        )
    with right:
        units = {"step": 1, "min_value": UNITS[0], "max_value": UNITS[1]}
        fc1 = st.number_input("fc1 units", key=KEY + "fc1_units", **units)
        fc2 = st.number_input("fc2 units", key=KEY + "fc2_units", **units)
        mode = st.radio(
            "fc1's inputs",
            [FOLLOWS, PINNED],
            key=KEY + "fc1_mode",
            help="The tutorial writes 16 * 6 * 6 by hand: pin it, change the kernels, and meet the error.",
        )
        pinned = st.number_input(
            "fc1 takes", min_value=1, max_value=100_000, step=1, key=KEY + "fc1_inputs", disabled=mode == FOLLOWS
        )
    return Architecture(
        conv1_channels=int(conv1),
        conv2_channels=int(conv2),
        kernel_size=int(kernel),
        padding=int(padding),
        pooling=pooling,
        activation=activation,
        fc1_units=int(fc1),
        fc2_units=int(fc2),
        fc1_inputs=int(pinned) if mode == PINNED else None,
    )


def _refused(arch: Architecture, error: ArchitectureError) -> None:
    """The error as PyTorch says it, which numbers disagree and why, and the fix."""
    words = str(error)
    if arch.fc1_in != arch.flatten_size:
        pytorch = words.partition(": the flatten gives ")[0]
        side = arch.map_sizes[-1]
        st.error("This network cannot run. PyTorch raises, in `forward()` at `self.fc1(x)`:")
        st.code(f"RuntimeError: {pytorch}", language="text", wrap_lines=True)
        st.markdown(
            f"The flatten gives **{arch.conv2_channels} x {side} x {side} = {arch.flatten_size:,}** numbers per digit "
            f"(conv2's {arch.conv2_channels} maps of {side} x {side}), but fc1 was built for **{arch.fc1_in:,}** "
            f"inputs: its weight matrix is {arch.fc1_units} x {arch.fc1_in:,} (`F.linear` multiplies by its transpose, "
            f"{arch.fc1_in:,} x {arch.fc1_units}), and a row of {arch.flatten_size:,} cannot be multiplied by it. "
            "The tutorial's `16 * 6 * 6` holds only for its 3 x 3 kernels, no padding and 2 x 2 pooling."
        )
        fix, pin = st.columns(2)
        fix.button("Fix: let fc1 follow the flatten", on_click=_set({"fc1_mode": FOLLOWS}), key=KEY + "fix_follow")
        pin.button(
            f"Fix: pin fc1 to {arch.flatten_size:,}",
            on_click=_set({"fc1_inputs": arch.flatten_size}),
            key=KEY + "fix_pin",
            disabled=arch.flatten_size > 100_000,
        )
        return
    st.error(f"Too big for a shared server: {words}")
    st.caption("Fewer channels or units, or pooling (smaller maps), make a network smaller and cheaper.")


def _use(arch: Architecture) -> None:
    try:
        session.replace_workspace(Workspace.from_random_init(USE_SEED, arch))
    except Refused as error:  # a run trains it, or another tab replaced it
        st.session_state[KEY + "said"] = str(error)
        return
    st.session_state[KEY + "said"] = f"Your model is now {arch.name}, fresh weights from start seed {USE_SEED}."
    session.changed()


@st.fragment
def editor(ws: Workspace) -> None:
    """The editor and what PyTorch makes of the network in it; a change reruns only this."""
    session.redraw_if_changed()
    with st.container(key="editor"):
        _editor(ws)


def _editor(ws: Workspace) -> None:
    current = ws.model.arch
    try:
        arch = _widgets(current)
    except ArchitectureError as error:  # a value no widget here sends (a crafted message): said, nothing built
        st.error(f"That network is out of bounds: {error}")
        return
    try:
        net = Net(arch)
    except ArchitectureError as error:
        _refused(arch, error)
        return
    count, side = arch.parameter_count, arch.map_sizes[-1]
    st.markdown(
        f"**{count:,} parameters** ({count / TUTORIAL.parameter_count:.1f} x the tutorial's 81,194; at most "
        f"{MAX_PARAMETERS:,} here); the flatten gives {arch.conv2_channels} x {side} x {side} = "
        f"{arch.flatten_size:,} numbers to fc1."
    )
    st.code(str(net), language="text", wrap_lines=True)
    forward = "def forward(self, x):\n" + "\n".join(f"    {line}" for line in arch.forward_lines())
    st.code(forward, language="python", wrap_lines=True)
    st.table(readable(forward_table(net).rows), hide_index=True)
    same = arch == current
    use, back = st.columns(2)
    use.button(
        "This is your model's network" if same else "Use this network",
        type="primary",
        disabled=same or ws.training,
        on_click=_use,
        args=(arch,),
        help="Your model becomes this network with fresh weights: train it on the Train page. The model you have "
        "now is kept to bring back (↩ Bring it back, here and on the Train page); its runs stay in Your runs."
        if not ws.training
        else "Stop the run on the Train page first.",
        key=KEY + "use",
    )
    back.button(
        "Reset the editor to the tutorial's network",
        on_click=_set(_fields(TUTORIAL)),
        disabled=arch == TUTORIAL,
        key=KEY + "reset",
    )
    if current != TUTORIAL:
        st.button(
            "Reset your model to the tutorial's network (the pretrained weights)",
            on_click=_reset_model,
            disabled=ws.training,
            key=KEY + "reset_model",
        )
    if said := st.session_state.pop(KEY + "said", None):
        st.success(said)
    bring_back.offer(ws, "editor", then=lambda old: _set(_fields(old.arch))())


def _reset_model() -> None:
    try:
        session.reset_workspace("pretrained")
    except Refused as error:  # a run trains it, or another tab replaced it
        st.session_state[KEY + "said"] = str(error)
        return
    _set(_fields(TUTORIAL))()
    st.session_state[KEY + "said"] = "Your model is the tutorial's network again, with the pretrained weights."
    session.changed()
