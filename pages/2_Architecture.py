"""Architecture: the module as PyTorch prints it, its parameters, shapes, filters and one training step."""

import streamlit as st

from lenet.network.anatomy import forward_table, parameter_table, walkthrough
from lenet.network.model import parameter_count
from lenet.ui import editor, flow, forward_view, frame, html, path, pictures, timemachine, words

ws = frame.page("Architecture", "🧩")
st.title("Architecture")
st.caption(
    f"{words.sentence(ws.model.arch.name)}, layer by layer, with your model's weights at the time "
    "machine's step; below, build your own."
)
moment = timemachine.choose(ws)
model = moment.model
timemachine.banner(moment.past)

st.subheader("print(net)")
st.code(str(model), language="text")
st.subheader("Your digit through forward()")
st.caption(
    "Every step of `forward()` on one digit, each number a square: blue above zero, red below, white zero, "
    "full colour the step's largest. Click or tap any number to see how it is made from your model's own "
    "numbers."
)


@st.fragment
def your_digit_through_forward() -> None:
    """A pick reruns only this: the digit, the pictures and the picked unit's arithmetic."""
    x, ink, said = forward_view.digit()
    st.caption(said)
    model = timemachine.moment(ws).model
    forward_view.show(model, flow.flow(model, x, ink))


your_digit_through_forward()
st.subheader("Every step of forward()")
forward = forward_table(model)
st.caption(
    "What `forward()` does to one 1 x 32 x 32 digit, line by line, recorded as the model runs: each "
    "convolution, activation and pooling, then the flatten that turns the "
    f"{' x '.join(map(str, forward.flatten_in))} maps into the {forward.flatten_out:,} numbers `fc1` takes."
)
st.table(editor.readable(forward.rows), hide_index=True)
st.subheader("Build your own LeNet")
st.caption(
    "What if conv1 had 16 filters, the kernels were 5 x 5 as in LeNet-5, there were no pooling? Change the network "
    "here: PyTorch builds it at once, or says why it cannot run. Use it, and every page trains, reads and explains it."
)
editor.editor(ws)
st.subheader("Parameters")
st.table(editor.readable(parameter_table(model), "count"), hide_index=True)
st.markdown(f"**{parameter_count(model):,} parameters in all**: the weights and biases that training changes.")

st.subheader("Filters")
st.caption(
    f"The {model.arch.kernel_size} x {model.arch.kernel_size} kernels the convolutions slide over the image: blue is "
    "positive, red negative, white zero; full colour is the largest weight of the layer."
)
conv1, conv2 = model.arch.conv1_channels, model.arch.conv2_channels
st.image(pictures.data_url(pictures.filters(model.conv1.weight)), caption=f"conv1: filters 0-{conv1 - 1}")
st.markdown(html.colour_key(pictures.full_scale(model.conv1.weight), "", "weight"), unsafe_allow_html=True)
with st.expander(f"conv2: {conv2} filters x {conv1} input channels"):
    st.image(
        pictures.data_url(pictures.filters(model.conv2.weight)),
        caption=f"conv2: a row per filter (0-{conv2 - 1}), a column per input channel (0-{conv1 - 1})",
    )
    st.markdown(html.colour_key(pictures.full_scale(model.conv2.weight), "", "weight"), unsafe_allow_html=True)

st.subheader("The tutorial, step by step")
st.caption("Run on a copy of your model: a random input, MSELoss against a random target, backward(), one SGD step.")
seed = st.number_input("Random seed", min_value=0, max_value=10_000, value=0, step=1)
steps = walkthrough(model, seed=int(seed))
st.code(
    "input = torch.randn(1, 1, 32, 32)\n"
    f"out = net(input)  # {[round(v, 4) for v in steps.output[0].tolist()]}\n"
    "target = torch.randn(1, 10)\n"
    f"loss = nn.MSELoss()(out, target)  # {steps.loss:.4f}\n"
    "net.zero_grad()\n"
    f"net.conv1.bias.grad  # before backward: {[round(v, 4) for v in steps.bias_grad_before.tolist()]}\n"
    "loss.backward()\n"
    f"net.conv1.bias.grad  # after backward:  {[round(v, 4) for v in steps.bias_grad_after.tolist()]}\n"
    "optim.SGD(net.parameters(), lr=0.01).step()",
    language="python",
    wrap_lines=True,  # the ten outputs: one line ran out of the box
)
st.table(
    [
        {**row, "largest change": f"{row['largest change']:.2e}", "mean change": f"{row['mean change']:.2e}"}
        for row in steps.parameter_change
    ],
    hide_index=True,
)
path.next_step(ws)
