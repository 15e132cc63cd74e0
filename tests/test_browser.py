"""A person's path through the app: a real `streamlit run` server, driven in headless Chromium."""

import base64
import contextlib
import io
import itertools
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    DIGITS,
    DOCS_SHOTS,
    IDLE,
    PAGES,
    SHOTS,
    Requests,
    Server,
    assert_clean_log,
    busy_core,
    draw,
    draw_digit,
    play_replay,
    set_training,
    wait_idle,
    watch,
)
from PIL import Image

from lenet.network.strokes import BRUSH_PX, drawn

pytestmark = pytest.mark.browser  # out of the fast lane: each drives Chromium against a real server

if os.environ.get("CI"):  # in CI a missing Playwright or browser fails the run: never a skip
    import playwright.sync_api as playwright_api

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium for these tests")
else:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"no Chromium at {CHROMIUM} (apt-get install chromium): browser tests skipped", allow_module_level=True
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("server"))
    yield server
    assert_clean_log(server.stop())


REQUESTS: dict = {}  # the `page` fixture's page: its requests in flight


@pytest.fixture
def fresh_server(tmp_path):
    server = Server(tmp_path)
    yield server
    assert_clean_log(server.stop())


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser session that fails the test on any console error, failed request or exception box;
    a failed test leaves what the page showed under artifacts/ (failed-<test>.png and .txt)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    REQUESTS[page] = watch(page, problems)
    yield page
    del REQUESTS[page]
    if getattr(request.node, "report_call", None) is not None and request.node.report_call.failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"\W+", "-", request.node.name)
        with contextlib.suppress(playwright_api.Error):
            page.screenshot(path=SHOTS / f"failed-{name}.png")
            (SHOTS / f"failed-{name}.txt").write_text(page.locator("body").inner_text(timeout=5_000))
    assert page.locator('[data-testid="stException"]').count() == 0, "an exception box is on the page"
    context.close()
    assert not problems, "\n".join(problems)


def screenshot(page, name: str, part=None) -> None:
    """The page, or one `part` of it (a locator); kept under artifacts/ by every run;
    UPDATE_SCREENSHOTS=1 also refreshes the README's copies."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if part is not None:
        part.screenshot(path=SHOTS / f"{name}.png")
    else:
        page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(SHOTS / f"{name}.png", DOCS_SHOTS / f"{name}.png")


SIDEBAR = ["🧠 Home", "📉 Train", "🧩 Architecture", "✏️ Sketch pad"]


def sidebar_entries(page) -> list[str]:
    """The navigation as a person reads it: each entry's icon and label, in order."""
    return [" ".join(text.split()) for text in page.get_by_test_id("stSidebarNav").locator("li").all_inner_texts()]


@pytest.mark.parametrize("path", ["", "Train", "Architecture", "Sketch_pad"])
def test_deep_link_as_the_first_request_of_a_fresh_server(fresh_server, page, path):
    """A shared link: the page, its tab, and the declared sidebar, also after a reload and on every entry."""
    requests = Requests(page)
    page.goto(f"{fresh_server.url}/{path}")
    wait_idle(page, PAGES[path])
    print(f"\nserver start -> first page usable ({path}): {time.perf_counter() - fresh_server.started:.1f} s")
    title = PAGES[path] if path else "Home"
    assert page.title() == f"{title} · LeNet on MNIST"
    assert "svg" in page.evaluate("() => document.querySelector('link[rel*=icon]').href")  # the page's emoji
    assert sidebar_entries(page) == SIDEBAR
    assert page.get_by_text("Your model", exact=True).is_visible()  # the shared sidebar: the app's frame
    requests.settle()  # a reload would abort the page's lazy scripts still loading
    page.reload()
    wait_idle(page, PAGES[path])
    assert sidebar_entries(page) == SIDEBAR
    for entry, (target, heading) in zip(SIDEBAR, PAGES.items(), strict=True):
        requests.settle()
        page.get_by_test_id("stSidebarNav").get_by_text(entry.split(" ", 1)[1], exact=True).click()
        wait_idle(page, heading)
        assert page.url == f"{fresh_server.url}/{target}"
        assert sidebar_entries(page) == SIDEBAR


def test_every_page_through_the_sidebar(server, page):
    page.goto(server.url)
    wait_idle(page, PAGES[""])
    assert page.title() == "Home · LeNet on MNIST"
    assert sidebar_entries(page) == SIDEBAR
    screenshot(page, "home")
    for path, title in [("Architecture", "Architecture"), ("Sketch_pad", "Sketch pad"), ("Train", "Train")]:
        started = time.perf_counter()
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        wait_idle(page, title)
        assert page.url.endswith(f"/{path}")
        assert page.title() == f"{title} · LeNet on MNIST"
        assert sidebar_entries(page) == SIDEBAR
        print(f"\npage switch to {title}: {time.perf_counter() - started:.2f} s")


def test_architecture_shows_the_module(server, page):
    page.goto(f"{server.url}/Architecture")
    wait_idle(page, "Architecture")
    printed = page.get_by_test_id("stCode").filter(has_text="(fc1): Linear").first  # print(net); the editor has its own
    playwright_api.expect(printed).to_contain_text("(conv1): Conv2d(1, 6, kernel_size=(3, 3), stride=(1, 1))")
    playwright_api.expect(printed).to_contain_text("(fc3): Linear(in_features=84, out_features=10, bias=True)")
    assert page.get_by_text("81,194 parameters in all").is_visible()
    # every step of forward(), the pools and the flatten to 576 included, next to its line
    page.get_by_role("cell", name="torch.flatten", exact=True).first.wait_for()
    rows = (
        page.get_by_test_id("stTable")
        .first.locator("tbody tr")
        .evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))")
    )
    steps = [(row[1], row[2]) for row in rows]
    assert ("F.max_pool2d", "[1, 6, 15, 15]") in steps and ("F.max_pool2d", "[1, 16, 6, 6]") in steps
    assert ["x = torch.flatten(x, 1)", "torch.flatten", "[1, 576]", "0"] in rows
    assert len(rows) == 13  # the input and twelve operations
    assert page.get_by_text("turns the 16 x 6 x 6 maps into the 576 numbers").is_visible()
    screenshot(page, "architecture")


# The latest step in the live loss chart, read from the plotly figure in the page. The traces
# arrive as base64 typed arrays, so it comes from plotly's decoded `_fullData`.
CHART_LATEST_STEP_JS = """() => { const plot = document.querySelector('.js-plotly-plot');
    const trace = plot && plot._fullData && plot._fullData[1];
    return trace && trace.x && trace.x.length ? trace.x[trace.x.length - 1] : 0; }"""


def latest_chart_step(page) -> int:
    return page.evaluate(CHART_LATEST_STEP_JS)


def wait_for_chart_step(page, more_than: int, timeout: float) -> None:
    page.wait_for_function(f"({CHART_LATEST_STEP_JS})() > {more_than}", timeout=timeout)


def sidebar_step(page) -> int:
    """The step the sidebar says the run is at: "Training on cpu: epoch 1/10, step 1,234/4,680, loss ..."."""
    text = page.get_by_test_id("stSidebar").get_by_text(re.compile(r"^Training on ")).inner_text()
    return int(re.search(r"step ([\d,]+)/", text).group(1).replace(",", ""))


def test_training_runs_on_across_pages_and_stops(server, page):
    page.goto(f"{server.url}/Train")
    wait_idle(page, "Train")
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("10")
    epochs.press("Enter")
    page.wait_for_selector(IDLE)
    # a new session's first Start trains from scratch: the sidebar says so and the loss starts at chance
    assert page.get_by_role("radio", name="from scratch: new random weights").is_checked()
    page.get_by_role("button", name="Start", exact=True).click()
    wait_for_chart_step(page, 0, timeout=60_000)
    assert page.get_by_text(re.compile(r"^Source: random init( \+ [\d,]+ steps here)?$")).is_visible()
    first_loss = page.wait_for_function(  # the live chart redraws twice a second: read it while it is there
        "() => document.querySelector('.js-plotly-plot')?._fullData?.[0]?.y?.[0]", timeout=30_000
    ).json_value()
    assert 2.0 < first_loss < 2.6, f"a fresh model's first loss was {first_loss}, not about ln(10) = 2.3"
    first = latest_chart_step(page)
    wait_for_chart_step(page, first, timeout=30_000)  # the chart moves on as the run goes on
    later = max(latest_chart_step(page), first + 1)  # a read during a redraw can see no figure
    screenshot(page, "train")

    # The sidebar follows the run on the other pages too, with nothing clicked meanwhile.
    for title in ("Sketch pad", "Architecture"):
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        wait_idle(page, title)
        if title == "Sketch pad":  # the panels answer for the latest weights; the ones that need still weights wait
            draw_digit(page, DIGITS["7"])
            page.get_by_test_id("attributions").wait_for(timeout=30_000)
            assert page.get_by_text("(training: the latest weights)").is_visible()
            open_tab(page, "What it finds alike")
            page.get_by_text("While your model trains, every step changes how it sees digits").wait_for(timeout=30_000)
            open_tab(page, "Teach it")
            playwright_api.expect(page.get_by_role("button", name="Teach it: one SGD step")).to_be_disabled()
        first_step = sidebar_step(page)
        deadline = time.monotonic() + 20
        while sidebar_step(page) <= first_step:
            assert time.monotonic() < deadline, f"the sidebar on {title} stayed at step {first_step}"
            page.wait_for_timeout(250)
    page.get_by_test_id("stSidebarNav").get_by_text("Train", exact=True).click()
    page.get_by_role("heading", name="Train", level=1).wait_for()
    wait_for_chart_step(page, later, timeout=30_000)
    assert page.get_by_text(re.compile(r"^training: epoch \d+/10")).is_visible()
    assert page.get_by_label("Epochs", exact=True).input_value() == "10"  # the settings outlived the visit elsewhere

    stop_button(page).click()
    page.get_by_text(re.compile(r"^stopped in epoch")).wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    assert page.get_by_role("button", name="Start", exact=True).is_enabled()
    assert page.get_by_text("Where the model is wrong").is_visible()
    screenshot(page, "train-stopped")


def grown_by_a_pixel(ink: np.ndarray) -> np.ndarray:
    """`ink` and every pixel next to it."""
    padded = np.pad(ink, 1)
    h, w = ink.shape
    return np.any([padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)


@pytest.mark.parametrize("digit", ["0", "1", "7"])
def test_sketch_pad_reads_a_drawn_digit_and_clears(server, page, digit):
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    prompt = page.get_by_text("Nothing drawn yet: draw a digit.")
    assert prompt.is_visible()
    prediction = page.get_by_test_id("prediction")
    assert prediction.count() == 0

    draw_digit(page, DIGITS[digit])  # the stroke's timing in a class: tools/classroom.py
    playwright_api.expect(prediction).to_have_text(digit, timeout=30_000)
    page.wait_for_selector(IDLE)
    playwright_api.expect(prediction).to_have_text(digit)  # still right once the last rerun is done
    if digit == "7":
        screenshot(page, "sketch-pad")
    assert not page.get_by_test_id("under-pad").is_visible()  # side by side, the reading is beside the pad
    # the server draws what the pad sent: the picture the model reads is the one the learner sees, but for
    # a fringe a pixel wide (the browser and Pillow round the edges of a stroke each their own way)
    shown = page.get_by_test_id("sketch-pad").evaluate("c => c.toDataURL()").split(",", 1)[1]
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(shown))).convert("L")) > 127
    read = drawn(tuple(tuple(round(v) for point in stroke for v in point) for stroke in DIGITS[digit]), BRUSH_PX) > 127
    apart = [int((a & ~grown_by_a_pixel(b)).sum()) for a, b in [(shown, read), (read, shown)]]
    print(f"ink of the pad's picture and of the model's more than a pixel from the other's: {apart} pixels")
    assert read.mean() > 0.02 and max(apart) < 50

    strokes = len(DIGITS[digit])
    if strokes > 1:  # Undo takes back the last stroke only: what is left is read
        seen = page.get_by_test_id("reading").locator("img").get_attribute("src")
        page.get_by_role("button", name="Undo").click()
        playwright_api.expect(page.get_by_test_id("reading").locator("img")).not_to_have_attribute("src", seen)
        page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Clear my drawing").click()
    prompt.wait_for(timeout=30_000)
    assert prediction.count() == 0
    assert page.get_by_role("button", name="Undo").is_disabled()

    box = page.get_by_test_id("sketch-pad").bounding_box()
    page.mouse.click(box["x"] + 140, box["y"] + 140)  # one click leaves one brush-wide dot
    page.get_by_text("That is only a dot: draw a whole digit, larger.").wait_for(timeout=30_000)
    assert prediction.count() == 0


# What the Sketch pad shows once a digit is drawn: no two of these may overlap, at any width.
SKETCH_PARTS = {
    "pad": "[data-testid=sketch-pad]",
    "its buttons": ".pad button",
    "digit seen": "[data-testid=reading] img",
    "its caption": "[data-testid=reading] figcaption",
    "prediction": "[data-testid=prediction]",
    "verdict": "[data-testid=verdict]",
    "bars": "[data-testid=probabilities]",
    "feature maps": "[data-testid=stImage] img",
    "their captions": "[data-testid=stImageCaption]",
    "attributions": "[data-testid=attributions] figure",
}


@pytest.mark.parametrize("width", [1280, 1024, 768, 390])
def test_the_sketch_pad_result_never_overlaps_itself(server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    page.get_by_test_id("sketch-pad").scroll_into_view_if_needed()
    draw_digit(page, DIGITS["7"])
    playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("7", timeout=30_000)
    page.wait_for_selector(IDLE)
    boxes = []
    for name, selector in SKETCH_PARTS.items():
        found = page.locator(selector).evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); "
            "return [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY]; })"
        )
        assert found, f"{name} is missing at {width} px"
        boxes += [(f"{name} {i}", box) for i, box in enumerate(found)]
    overlaps = [
        f"{a} {box_a} / {b} {box_b}"
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
        if min(box_a[2], box_b[2]) - max(box_a[0], box_b[0]) > 0.5
        and min(box_a[3], box_b[3]) - max(box_a[1], box_b[1]) > 0.5
    ]
    screenshot(page, f"sketch-pad-{width}")
    assert not overlaps, f"at {width} px: " + "; ".join(overlaps)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    context.close()


PANELS = {
    "Where it looked": "attributions",
    "What it finds alike": "alike",
    "What if": "whatif-reading",
    "Fool it": "fooled",
}


def panel_state(page, tab: str) -> tuple[str, list[str]]:
    """What a "why" panel shows, as text and picture sources, with its tab open (only the open tab is drawn)."""
    open_tab(page, tab)
    panel = page.get_by_test_id(PANELS[tab])
    panel.wait_for(timeout=60_000)
    return panel.inner_text(), panel.locator("img").evaluate_all("els => els.map(e => e.src)")


def open_panel(page):
    """The open "why" tab's panel."""
    return page.locator("[role=tabpanel]:visible")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_selector(IDLE)


def test_the_why_panels_answer_for_the_drawing_and_follow_it(server, page):
    page.set_viewport_size({"width": 1400, "height": 1500})  # the screenshots show a whole panel
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    assert page.get_by_role("tab", name="Where it looked").count() == 0  # nothing drawn: no panels
    draw_digit(page, DIGITS["7"])
    playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("7", timeout=30_000)
    page.wait_for_selector(IDLE)

    attributions = page.get_by_test_id("attributions")
    playwright_api.expect(attributions.locator("figure")).to_have_count(2)
    assert "for 7, its answer" in attributions.inner_text()
    assert page.get_by_text("Blue pixels raised the digit's score").is_visible()
    screenshot(page, "sketch-pad-why", open_panel(page))

    open_tab(page, "What it finds alike")
    alike = page.get_by_test_id("alike")
    alike.wait_for(timeout=90_000)  # the first visit of a process works out the training set's representations
    captions = alike.locator("figcaption").all_inner_texts()
    assert len(captions) == 8
    assert sum(caption.startswith("a 7 ") for caption in captions) >= 5

    open_tab(page, "What if")
    playwright_api.expect(page.get_by_test_id("whatif-prediction")).to_have_text("7")
    assert page.get_by_test_id("sweep").locator("polyline").count() == 10
    before = page.get_by_test_id("whatif-reading").locator("img").get_attribute("src")
    rotate = page.get_by_test_id("stSlider").filter(has_text="Rotate").get_by_role("slider")
    rotate.focus()
    rotate.press("End")  # 45 degrees counterclockwise
    playwright_api.expect(page.get_by_test_id("stSlider").filter(has_text="Rotate")).to_contain_text("45°")
    changed = page.get_by_test_id("whatif-reading").locator("img")
    playwright_api.expect(changed).not_to_have_attribute("src", before, timeout=30_000)
    page.wait_for_selector(IDLE)
    screenshot(page, "sketch-pad-what-if", open_panel(page))
    page.get_by_role("button", name="Back to the digit as drawn").click()
    playwright_api.expect(changed).to_have_attribute("src", before, timeout=30_000)
    playwright_api.expect(page.get_by_test_id("stSlider").filter(has_text="Rotate")).to_contain_text("0°")

    open_tab(page, "Fool it")
    fooled = page.get_by_test_id("fooled")
    playwright_api.expect(fooled.locator("figure")).to_have_count(3)
    assert page.get_by_text(re.compile(r"is the smallest change that makes it say \d")).is_visible()
    screenshot(page, "sketch-pad-fool-it", open_panel(page))

    open_tab(page, "Teach it")
    bars = page.get_by_test_id("probabilities").locator("[data-testid=bar]")
    seen = bars.evaluate_all("els => els.map(e => e.title)")
    teach = page.get_by_role("button", name="Teach it: one SGD step")
    assert teach.is_disabled(), "no digit is chosen for the learner: a step to its own answer teaches nothing"
    page.get_by_role("combobox", name="It is really a").click()
    page.get_by_role("option", name="3", exact=True).click()
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Teach it: one SGD step").click()
    lesson = page.get_by_test_id("stMarkdownContainer").filter(has_text="One step with lr = 0.01 on this digit")
    lesson.wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    was, now = map(float, re.search(r"probability of 3 went from ([\d.]+)% to ([\d.]+)%", lesson.inner_text()).groups())
    assert now > was  # one step towards the label
    assert page.get_by_test_id("before-lesson").is_visible() and page.get_by_test_id("after-lesson").is_visible()
    assert page.get_by_text(re.compile(r"^Source: pretrained \(\d+ epochs\) \+ 1 lesson here$")).is_visible()
    # what the step did to MNIST, measured, here and in the sidebar
    measured = page.get_by_text("On 1,000 test digits it never trained on").inner_text()
    tested = re.search(r"never trained on: ([\d.]+)% → ([\d.]+)%", measured)
    sidebar = f"After your lessons: {tested[2]}% on 1,000 test digits ({tested[1]}% before them)"
    assert tested and page.get_by_text(sidebar).is_visible()
    assert bars.evaluate_all("els => els.map(e => e.title)") != seen  # the prediction above uses the new weights
    screenshot(page, "sketch-pad-teach-it", open_panel(page))
    page.get_by_role("button", name="Undo the last step").click()
    page.get_by_text(re.compile(r"^Source: pretrained \(\d+ epochs\)$")).wait_for(timeout=30_000)
    playwright_api.expect(page.get_by_role("button", name="Undo the last step")).to_be_disabled()
    page.wait_for_selector(IDLE)
    assert page.get_by_text("After your lessons:").count() == 0
    assert bars.evaluate_all("els => els.map(e => e.title)") == seen  # the weights as they were

    # Another digit: every panel answers for it.
    shown = {tab: panel_state(page, tab) for tab in PANELS}
    page.get_by_role("button", name="Clear my drawing").click()
    page.get_by_text("Nothing drawn yet: draw a digit.").wait_for(timeout=30_000)
    draw_digit(page, DIGITS["1"])
    playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("1", timeout=30_000)
    page.wait_for_selector(IDLE)
    now = {tab: panel_state(page, tab) for tab in PANELS}
    for tab in PANELS:
        assert now[tab] != shown[tab], f"{tab} did not change with the drawing"
    assert "for 1, its answer" in now["Where it looked"][0]
    assert now["What it finds alike"][0].count("a 1 (#") >= 5


def test_no_panels_for_a_canvas_full_of_ink(server, page):
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    draw(page, [[(x, y) for x in (10, 270) for _ in range(1)] for y in range(5, 280, 12)])
    page.get_by_text("The image is mostly ink: draw a single digit on an empty background.").wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    assert page.get_by_role("tab", name="Where it looked").count() == 0
    assert page.get_by_test_id("prediction").count() == 0


def test_closing_the_tab_ends_its_training_run_once_its_session_is_gone(browser, page, tmp_path):
    """A closed tab's run goes on as long as Streamlit keeps the session for a reconnect (its TTL, 5 s
    here, 120 s by default), then stops and frees its slot."""
    server = Server(tmp_path, env={"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "5"})
    try:
        tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        tab.goto(f"{server.url}/Train")
        wait_idle(tab, "Train")
        tab.get_by_role("combobox", name="Preset").click()
        tab.get_by_role("option", name="tutorial", exact=True).click()  # 2,811 steps: longer than this test
        tab.wait_for_selector(IDLE)
        tab.get_by_role("button", name="Start", exact=True).click()
        tab.get_by_text(re.compile(r"^training: epoch")).wait_for(timeout=60_000)
        page.goto(f"{server.url}/Train")  # another person's session sees the server's slots
        wait_idle(page, "Train")
        assert page.get_by_text("Server: 1 of 1 training slots busy").is_visible()
        tab.context.close()
        closed = time.perf_counter()
        # the other session's sidebar follows the server by itself: no reload, no click
        page.get_by_text("Server: 0 of 1 training slots busy, 0 waiting").wait_for(timeout=30_000)
        seconds = time.perf_counter() - closed
        print(f"\nrun ended, and another session's sidebar said so, {seconds:.1f} s after its tab closed")
    finally:
        page.goto("about:blank")  # a page left open would poll a server that is gone
        assert_clean_log(server.stop())


def models_in_memory(page) -> int:
    shown = page.get_by_text(re.compile(r"^Models in memory: ")).inner_text()
    return int(re.search(r"^Models in memory: (\d+),", shown)[1])


def test_closed_sessions_give_their_models_back(browser, tmp_path):
    """Sessions that end (tabs closed, past Streamlit's session TTL) leave no workspace behind."""
    server = Server(tmp_path, env={"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2"})
    contexts = []
    try:
        for _ in range(4):
            contexts.append(browser.new_context(viewport={"width": 1400, "height": 1000}))
            page = contexts[-1].new_page()
            page.goto(f"{server.url}/Train")
            wait_idle(page, "Train")
        assert models_in_memory(page) == 4
        for context in contexts[:3]:
            context.close()
        deadline = time.monotonic() + 30
        while True:
            page.get_by_test_id("stSidebarNav").get_by_text("Architecture", exact=True).click()
            wait_idle(page, "Architecture")
            page.get_by_test_id("stSidebarNav").get_by_text("Train", exact=True).click()
            wait_idle(page, "Train")
            if models_in_memory(page) == 1:
                break
            assert time.monotonic() < deadline, f"{models_in_memory(page)} models still in memory, 1 session open"
            page.wait_for_timeout(1_000)
        print(f"\nclosed sessions' models gone {30 - (deadline - time.monotonic()):.1f} s after their tabs closed")
    finally:
        for context in contexts:
            context.close()
        assert_clean_log(server.stop())


def test_a_short_load_test_sees_no_errors(browser):
    """The load test's short form (full run: python tools/loadtest.py); its timings are printed, not judged."""
    import loadtest

    summary = loadtest.run(browser, sessions=3, training=1, seconds=8)
    assert summary["errors"] == []
    assert summary["browse_seconds"] >= 8  # browsing lasts as long as asked
    assert summary["page_loads"] >= 2 + 3  # two more sessions opened, then each moved at least once


def test_a_short_class_sees_no_errors_and_every_run_ends(browser):
    """The class scenario's short form (full run: python tools/classroom.py); timings printed, not judged."""
    import classroom

    summary = classroom.classroom(browser, sessions=3, starters=2, train_images="1,000", ttl=2)
    assert summary["errors"] == []
    assert len(summary["runs"]) == 2 and all(run["trained_s"] is not None for run in summary["runs"])
    assert summary["mouse_up_to_prediction_seconds"]["max"] < 60


def test_drawing_with_a_finger_on_a_phone_width_screen(server, browser):
    """390 px wide with touch, as a phone: the canvas fits and a finger-drawn 1 is read as 1."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    canvas = page.get_by_test_id("sketch-pad")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, "the canvas does not fit the screen"
    touch = context.new_cdp_session(page)
    points = [(box["x"] + 140, box["y"] + 40 + 10 * i) for i in range(21)]
    touch.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]}
    )
    for x, y in points[1:]:
        touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    prediction = page.get_by_test_id("prediction")
    playwright_api.expect(prediction).to_have_text("1", timeout=30_000)
    page.wait_for_selector(IDLE)
    under = page.get_by_test_id("under-pad")  # the reading is a screen below: its answer shows under the pad
    playwright_api.expect(under).to_contain_text("It reads 1")
    assert under.bounding_box()["y"] + under.bounding_box()["height"] <= 844, "out of sight of the finger"
    screenshot(page, "sketch-pad-phone")
    undo = page.get_by_role("button", name="Undo")  # shown as it is, not only while a mouse hovers
    assert undo.evaluate("b => getComputedStyle(b).opacity") == "1" and undo.bounding_box()["height"] >= 40
    undo.tap()
    page.get_by_text("Nothing drawn yet: draw a digit.").wait_for(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    context.close()


def test_checkpoint_upload_refuses_a_bad_file_and_loads_a_good_one(server, page, tmp_path):
    import torch

    from lenet.network.model import Net
    from lenet.store.checkpoint import save_checkpoint

    page.goto(f"{server.url}/Train")
    wait_idle(page, "Train")
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    bad = tmp_path / "notes.pt"
    bad.write_bytes(b"not a checkpoint")
    uploader.set_input_files(bad)
    page.get_by_text(re.compile("Your model is unchanged: not a PyTorch checkpoint")).wait_for(timeout=30_000)
    assert page.get_by_text("Source: pretrained (3 epochs)").is_visible()

    torch.manual_seed(0)
    good = tmp_path / "random.pt"
    save_checkpoint(good, Net(), history=[])
    uploader.set_input_files(good)
    page.get_by_text("Source: uploaded random.pt").wait_for(timeout=30_000)


def test_a_checkpoint_offered_during_a_run_never_replaces_the_model(server, page, tmp_path):
    from lenet.network.model import Net
    from lenet.store.checkpoint import save_checkpoint

    good = tmp_path / "other.pt"
    save_checkpoint(good, Net(), history=[])
    page.goto(f"{server.url}/Train")
    wait_idle(page, "Train")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text(re.compile(r"^training: epoch")).wait_for(timeout=60_000)
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    assert uploader.is_disabled()
    with contextlib.suppress(playwright_api.Error):  # a disabled input may refuse the file outright
        uploader.set_input_files(good, timeout=5_000)
    page.wait_for_timeout(2_000)  # nothing must happen: no condition to wait for, so time for a wrong rerun
    stop_button(page).click()
    page.get_by_text(re.compile(r"^stopped in epoch")).wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    setting = page.get_by_test_id("stNumberInput").first
    shown = setting.locator("input").input_value()
    setting.get_by_test_id("stNumberInputStepUp").click()  # change a setting meanwhile
    playwright_api.expect(setting.locator("input")).not_to_have_value(shown)
    page.wait_for_selector(IDLE)
    assert page.get_by_text(re.compile(r"^Source: random init")).is_visible()
    assert not page.get_by_text(re.compile("uploaded other.pt")).count()


def test_an_uploaded_photo_of_a_digit_is_read(server, page, tmp_path):
    from PIL import Image, ImageDraw

    photo = Image.new("RGB", (300, 400), "white")  # dark ink on paper, as a phone photo would be
    ImageDraw.Draw(photo).line([(80, 80), (230, 80), (130, 340)], fill="black", width=22)
    path = tmp_path / "seven.jpg"
    photo.save(path)
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    page.get_by_text("Upload an image").click()
    page.wait_for_selector(IDLE)
    photos = page.get_by_test_id("stFileUploader").filter(has_text="A photo or scan of one digit")
    photos.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(path)
    playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("7", timeout=30_000)


def test_each_uploader_states_the_limit_its_reader_holds_and_a_refusal_is_one_sentence(server, page, tmp_path):
    from lenet.network.handwriting import MAX_SET_FILE_BYTES
    from lenet.network.preprocess import MAX_FILE_BYTES
    from lenet.store.checkpoint import MAX_CHECKPOINT_BYTES

    page.goto(f"{server.url}/Train")
    wait_idle(page, "Train")
    checkpoints = page.get_by_test_id("stFileUploader").filter(has_text="Load a checkpoint")
    assert f"{MAX_CHECKPOINT_BYTES // 2**20}MB per file" in checkpoints.inner_text()
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    digit_sets = page.get_by_test_id("stFileUploader").filter(has_text="Load a set of digits")
    assert f"{MAX_SET_FILE_BYTES // 2**20}MB per file" in digit_sets.inner_text()
    page.get_by_text("Upload an image").click()
    page.wait_for_selector(IDLE)
    photos = page.get_by_test_id("stFileUploader").filter(has_text="A photo or scan of one digit")
    assert f"{MAX_FILE_BYTES // 10**6}MB per file" in photos.inner_text()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    photos.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(bad)
    refusal = page.get_by_text(re.compile(r"^That file can't be used: it is not an image this app can read"))
    refusal.wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    assert "BytesIO" not in refusal.inner_text() and "0x" not in refusal.inner_text()
    assert page.get_by_text("Nothing drawn yet").count() == 0  # nothing on the page says otherwise


def test_the_model_downloads_as_a_checkpoint_that_loads(server, page, tmp_path):
    from lenet.store.checkpoint import read_checkpoint

    page.goto(f"{server.url}/Train")
    wait_idle(page, "Train")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download this model").click()
    path = tmp_path / "downloaded.pt"
    download.value.save_as(path)
    checkpoint = read_checkpoint(path.read_bytes())
    assert checkpoint.history[-1].test_accuracy >= 0.99  # the pretrained weights' own record


def stop_button(page):
    """The app's Stop, not Streamlit's own in the header while a script runs (both are named "Stop")."""
    return page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True)


def train_from_scratch(page, server, start_seed: int, batch_size: int | None = None) -> None:
    """One epoch on 10,000 digits (78 steps at the fast preset's batch of 128) from scratch with
    `start_seed`, to its end."""
    page.goto(f"{server.url}/Train")
    wait_idle(page, "Train")
    set_training(page, images="10,000", epochs=1, batch_size=batch_size)
    field = page.get_by_label("Start seed", exact=True)
    field.fill(str(start_seed))
    field.press("Enter")
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Start", exact=True).click()
    wait_for_run_end(page)


def wait_for_run_end(page) -> None:
    page.get_by_text(re.compile(r"^Last run: completed")).wait_for(timeout=120_000)
    page.get_by_text("trained 1 epoch", exact=True).wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)


def replay_labels(page) -> list[str]:
    """The frames of "Your digit through training", as its slider names them."""
    return page.locator(".st-key-journey .js-plotly-plot").evaluate("p => p.layout.sliders[0].steps.map(s => s.label)")


def chart_with(page, trace: str) -> dict[str, dict]:
    """The traces by name (x and y as plotly decoded them) of the page's plotly chart with a trace named `trace`."""
    charts = page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot'), plot => Object.fromEntries(
            plot._fullData.map(t => [t.name, {x: Array.from(t.x || []), y: Array.from(t.y || [])}])))"""
    )
    return next(chart for chart in charts if trace in chart)


def time_machine_to(page, key: str, shows: str) -> None:
    """Move the "model at step" slider to its first snapshot (Home) or to now (End), as a keyboard does."""
    slider = page.get_by_role("slider", name="Model at step")
    slider.focus()
    slider.press(key)
    playwright_api.expect(slider).to_have_attribute("aria-valuetext", shows)
    page.wait_for_timeout(300)  # the rerun it asked for starts
    page.wait_for_selector(IDLE)


def probabilities(page) -> list[float]:
    titles = page.get_by_test_id("probabilities").get_by_test_id("bar").evaluate_all("bars => bars.map(b => b.title)")
    return [float(title.split(": ")[1].rstrip("%")) / 100 for title in titles]


def attribution_scale(page) -> float:
    caption = page.get_by_text(re.compile(r"Full colour = ±")).inner_text()
    return float(re.search(r"Full colour = ±([\d.e+-]+)", caption).group(1))


def filter_scale(page) -> float:
    """Full colour of conv1's filters, as the key under them says (the first key of the Architecture page)."""
    key = page.get_by_test_id("colour-key").first.inner_text()
    return float(re.search(r"\+([\d.e+-]+) weight", key).group(1))


def test_the_time_machine_shows_the_model_at_step_0_and_at_the_end(server, page):
    page.set_viewport_size({"width": 1400, "height": 1600})  # the screenshot shows the heatmap below
    # 312 steps at batch 32: from any of start seeds 0-19 the network learns to read (89-96 % here in
    # fp32); at batch 128, 78 steps, 6 of those 20 starts stay near chance, so the test would lean on luck.
    train_from_scratch(page, server, start_seed=4, batch_size=32)
    accuracy = chart_with(page, "test accuracy")["test accuracy"]  # live on the loss chart: one point per snapshot
    assert accuracy["x"] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 312]
    assert accuracy["y"][0] < 25 and accuracy["y"][-1] > 50  # chance at the start, reading digits at the end

    page.get_by_test_id("stSidebarNav").get_by_text("Sketch pad", exact=True).click()
    wait_idle(page, "Sketch pad")
    draw_digit(page, DIGITS["7"])
    playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("7", timeout=30_000)
    page.wait_for_selector(IDLE)
    assert page.get_by_text("The past").count() == 0 and max(probabilities(page)) > 0.5
    drawing = page.get_by_test_id("sketch-pad").evaluate("c => c.toDataURL()")
    time_machine_to(page, "Home", "0")
    page.get_by_text("The past: your model after 0 of run 1's 312 steps").wait_for(timeout=30_000)
    page.get_by_test_id("attributions").wait_for(timeout=30_000)  # where it looked, for the model of step 0
    assert max(probabilities(page)) < 0.2, "a random network's answer is close to chance"
    # no big digit for a network with no answer yet, and the sidebar says the page shows the past
    assert page.get_by_test_id("prediction").count() == 0 and page.get_by_test_id("no-answer").is_visible()
    assert page.get_by_text("the model after 0 steps").is_visible()
    assert page.get_by_text(re.compile(r"The pages show your model as it was after 0 steps of run 1")).is_visible()
    at_step_0 = attribution_scale(page)
    time_machine_to(page, "End", "now")
    at_the_end = attribution_scale(page)
    time_machine_to(page, "Home", "0")
    assert attribution_scale(page) == at_step_0 == at_the_end, "the run's steps share one colour scale"
    # the banner took its place without moving the canvas: a moved canvas is drawn afresh, blank
    assert page.get_by_test_id("sketch-pad").evaluate("c => c.toDataURL()") == drawing
    screenshot(page, "time-machine")

    page.get_by_test_id("stSidebarNav").get_by_text("Architecture", exact=True).click()
    wait_idle(page, "Architecture")
    page.get_by_text("The past: your model after 0 of run 1's 312 steps").wait_for()  # one choice for both pages
    at_start, start_picture = (
        filter_scale(page),
        page.get_by_test_id("stImage").first.locator("img").get_attribute("src"),
    )
    assert at_start <= 1 / 3 + 0.005  # the init: uniform noise within ±1/sqrt(9)
    time_machine_to(page, "End", "now")
    playwright_api.expect(page.get_by_text("The past")).to_have_count(0)
    assert page.get_by_test_id("stImage").first.locator("img").get_attribute("src") != start_picture
    assert filter_scale(page) != at_start

    page.get_by_test_id("stSidebarNav").get_by_text("Sketch pad", exact=True).click()
    wait_idle(page, "Sketch pad")  # the drawing is kept: the 7 comes back, read by the model now
    playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("7", timeout=30_000)
    page.wait_for_selector(IDLE)
    assert max(probabilities(page)) > 0.5 and page.get_by_text("The past").count() == 0


def test_two_runs_from_the_same_start_seed_are_compared_side_by_side(server, page):
    train_from_scratch(page, server, start_seed=9)
    rate = page.get_by_label("Learning rate", exact=True).last  # the "again" row's
    rate.fill("0.02")
    rate.press("Enter")
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Start again").click()
    outcomes = page.get_by_test_id("run-settings").locator("tr", has_text="Outcome")
    playwright_api.expect(outcomes).to_have_text(re.compile(r"completed\s*completed"), timeout=120_000)
    wait_for_run_end(page)
    # the form: as the learner left it
    assert page.get_by_label("Learning rate", exact=True).first.input_value() == "0.1"
    assert page.get_by_role("combobox", name="Preset").input_value() == "fast"
    page.locator(".st-key-next-step").get_by_text("Draw a digit").wait_for()  # the path goes on below every page
    traces = chart_with(page, "run 1: learning rate 0.1: loss")  # each run named by what sets it apart
    assert {"run 2: learning rate 0.02: loss", "run 1: learning rate 0.1: accuracy"} <= set(traces)
    first, second = traces["run 1: learning rate 0.1: accuracy"], traces["run 2: learning rate 0.02: accuracy"]
    assert first["y"][0] == second["y"][0]  # the same first weights
    assert traces["run 1: learning rate 0.1: loss"]["y"] != traces["run 2: learning rate 0.02: loss"]["y"]
    rows = page.get_by_test_id("run-settings").locator("tbody tr")
    table = {
        row[0].rstrip(" ≠"): (row[1:], differs == "true")
        for row, differs in zip(
            rows.evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"),
            rows.evaluate_all("rows => rows.map(r => r.dataset.differs)"),
            strict=True,
        )
    }
    settings_of_the_first_two = table
    assert table["Learning rate"] == (["0.1", "0.02"], True)
    assert table["Start"] == (["from scratch, start seed 9"] * 2, False)
    assert table["Batch size"] == (["128", "128"], False)
    compared = page.locator(".st-key-runs-compared")
    compared.scroll_into_view_if_needed()
    compared.locator(".js-plotly-plot .main-svg").first.wait_for()
    page.wait_for_selector(IDLE)
    screenshot(page, "runs-compared", compared)

    # Start again, with nothing touched: it trains what the form shows, the first run's settings and start
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE)
    assert not page.get_by_test_id("stAlertContentError").all_inner_texts()  # Start was not refused
    table = page.get_by_test_id("run-settings")  # runs 2 and 3, the latest two, once run 3 has ended
    playwright_api.expect(table.locator("thead")).to_contain_text("run 3", timeout=120_000)
    page.wait_for_selector(IDLE)
    heads = [head.split(":")[0] for head in table.locator("thead th").all_inner_texts()]
    cells = table.locator("tbody tr").evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText))")
    third = {row[0].strip().rstrip(" ≠"): row[1:][heads.index("run 3") - 1] for row in cells}
    first = {what: values[0] for what, (values, _) in settings_of_the_first_two.items()}
    results = {"Outcome", "Steps trained", "Test accuracy (10,000 digits)"}
    assert len(third) > 8 and third["Learning rate"] == "0.1"
    assert {what: value for what, value in third.items() if what not in results} == {
        what: value for what, value in first.items() if what not in results
    }


DRAWN_SET = Path(__file__).parent / "data" / "drawn_digits.npz"  # 63 digits drawn in Chromium (tools/draw_set.py)


def test_your_digits_are_labelled_kept_loaded_and_taught(server, page, tmp_path):
    from lenet.network.handwriting import DigitSet
    from lenet.service.finetune import split

    page.set_viewport_size({"width": 1400, "height": 1600})
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    draw_digit(page, DIGITS["7"])
    playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("7", timeout=30_000)
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Add to my digits").click()
    page.get_by_text("#1: a 7, read 7").wait_for(timeout=30_000)
    page.get_by_text("1 so far: 9 more, and their accuracy shows.").wait_for()

    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Load a set of digits")
    uploader = uploader.get_by_test_id("stFileUploaderDropzoneInput")
    bad = tmp_path / "bomb.npz"
    bad.write_bytes(b"PK\x03\x04 not a set at all")
    uploader.set_input_files(bad)
    page.get_by_text("Your digits are unchanged: not a set of digits").wait_for(timeout=30_000)
    assert page.get_by_text("#1: a 7, read 7").is_visible()  # the set as it was

    uploader.set_input_files(DRAWN_SET)
    page.get_by_text(re.compile(r"^#63: a 7, read 7")).wait_for(timeout=30_000)
    assert page.get_by_text("#1: a 7, read 7").count() == 0  # a loaded set replaces the session's
    assert page.get_by_test_id("stMetricValue").first.inner_text() == "100%"
    assert page.get_by_text("Your digits: 63 of 63 right (100%)").is_visible()  # the sidebar, on every page
    rows = page.get_by_test_id("my-confusion").locator("tbody tr").all_inner_texts()
    assert len(rows) == 10 and rows[7].split()[:2] == ["7", "7"]  # each digit drawn, all read right

    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download my digits").click()
    path = tmp_path / "mine.npz"
    download.value.save_as(path)
    mine, drawn = DigitSet.from_npz(path.read_bytes()), DigitSet.from_npz(DRAWN_SET.read_bytes())
    assert torch_equal(mine.pixels, drawn.pixels) and torch_equal(mine.labels, drawn.labels)

    page.get_by_role("button", name="Teach it my hand").click()
    taught, new = split(drawn)
    report = page.get_by_test_id("stTable").filter(has_text="new digits of your hand, never taught")
    report.wait_for(timeout=120_000)
    rows = [row.locator("td, th").all_inner_texts() for row in report.locator("tbody tr").all()]
    assert [row[0] for row in rows] == [
        f"the {len(taught)} digits it was taught",
        f"{len(new)} new digits of your hand, never taught",
        "MNIST's 10,000 test digits",
    ]
    assert rows[0][1] == rows[1][1] == "100%"  # the pretrained model read them all before
    screenshot(page, "my-digits", page.locator(".st-key-your-digits"))
    page.get_by_test_id("stSidebarNav").get_by_text("Train", exact=True).click()
    wait_idle(page, "Train")
    assert page.get_by_text(re.compile(f"taught your hand: 20,000 MNIST digits and {len(taught)} of yours")).count()


def torch_equal(a, b) -> bool:
    import torch

    return torch.equal(a, b)


EVIL = "<b>!</b> [Session expired, log in](https:evil.example) ![x](http:127.0.0.1:9) <img src=x> www.evil.example"


def assert_shown_as_text(page, text: str, where: str = "body") -> None:
    """`text` is on the page (in `where`) as it was written, and nothing in it became a link or an image."""
    shown = page.locator(where).first.inner_text().replace("\u200b", "")
    assert text in shown, f"{text!r} is not in {where} as text"
    made = page.locator("a[href*='evil'], a[href*='127.0.0.1:9'], img[src='x'], img[src*='127.0.0.1:9']")
    assert made.count() == 0, "visitor text became a link or an image"


def test_text_from_files_and_names_is_shown_as_text(server, page, tmp_path):
    """File names, a checkpoint's entries and a digit set's archive names, in every place they appear:
    the sidebar, error boxes, the runs' names and their comparison table."""
    import io
    import zipfile

    import torch

    from lenet.network.model import Net
    from lenet.store.checkpoint import checkpoint_bytes

    page.set_viewport_size({"width": 1400, "height": 1600})
    page.goto(f"{server.url}/Train")
    wait_idle(page, "Train")
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    buffer = io.BytesIO()
    torch.save({"model": Net().state_dict(), EVIL: 1}, buffer)
    uploader.set_input_files(
        files=[{"name": "entries.pt", "mimeType": "application/octet-stream", "buffer": buffer.getvalue()}]
    )
    page.get_by_text(re.compile("Your model is unchanged: unexpected entries")).wait_for(timeout=30_000)
    assert_shown_as_text(page, EVIL[:40])  # a message quotes at most 40 characters of a file's entry

    good = checkpoint_bytes(Net())
    uploader.set_input_files([{"name": f"{EVIL}.pt", "mimeType": "application/octet-stream", "buffer": good}])
    page.get_by_text(re.compile(r"^Source: uploaded <b>!</b> \[Session expired")).wait_for(timeout=30_000)
    assert_shown_as_text(page, f"Source: uploaded {EVIL[:70]}")  # a model's origin keeps 80 characters of a name

    set_training(page, images="1,000", epochs=1)
    page.get_by_text("keep training this model", exact=True).click()
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text(re.compile(r"^Last run: completed")).wait_for(timeout=120_000)
    page.wait_for_selector(IDLE)
    page.get_by_test_id("run-settings").wait_for(timeout=30_000)
    assert_shown_as_text(page, f"uploaded {EVIL[:70]}", "[data-testid='run-settings']")  # the runs' settings table
    assert_shown_as_text(page, f"run 1: uploaded {EVIL[:30]}", "[data-testid='stMultiSelect']")  # and their names
    # the chart's legend: plotly draws a subset of HTML in trace names, so the tag shows only if escaped
    legend = page.locator(".st-key-runs-compared .legendtext").all_text_contents()
    assert all(entry.startswith(f"run 1: uploaded {EVIL[:30]}") for entry in legend), legend
    assert page.locator(".st-key-runs-compared .legend a").count() == 0

    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as entries:
        entries.writestr(EVIL, b"x")
    digits = page.get_by_test_id("stFileUploader").filter(has_text="Load a set of digits")
    digits.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        [{"name": f"{EVIL}.npz", "mimeType": "application/zip", "buffer": archive.getvalue()}]
    )
    page.get_by_text(re.compile("Your digits are unchanged")).wait_for(timeout=30_000)
    assert_shown_as_text(page, EVIL)
    screenshot(page, "hostile-text")


def test_a_run_survives_a_dropped_connection(server, browser):
    """Wi-Fi that drops for 8 s (the session had been stopping its run after 3 s): the browser reconnects
    to the same session, and the run has gone on training meanwhile."""
    from browser import Proxy

    proxy = Proxy(server.port)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{proxy.url}/Train")
        wait_idle(page, "Train")
        page.get_by_role("combobox", name="Preset").click()
        page.get_by_role("option", name="tutorial", exact=True).click()  # 3 epochs of 938 steps: a while
        page.wait_for_selector(IDLE)
        page.get_by_role("button", name="Start", exact=True).click()
        progress = page.get_by_text(re.compile(r"^training: epoch \d+/3, step \d+/"))
        progress.wait_for(timeout=60_000)

        def step() -> int:
            return int(re.search(r"step (\d+)/", progress.inner_text(timeout=30_000)).group(1))

        before = step()
        proxy.drop(8)
        banner = page.get_by_text(re.compile("Connecting|Please wait")).first
        banner.wait_for(timeout=10_000)  # it saw the drop
        banner.wait_for(state="hidden", timeout=60_000)  # and reconnected once the proxy let it through
        deadline = time.monotonic() + 60
        while (after := step()) <= before:  # the page follows the run again once it has reconnected
            assert time.monotonic() < deadline, f"after the drop the page still shows step {after}"
            page.wait_for_timeout(250)
        print(f"\nconnection dropped for 8 s at step {before}; reconnected, the run at step {after} and going on")
        assert page.get_by_text(re.compile(r"^training: epoch")).is_visible()
        page.wait_for_selector(IDLE)  # after a reconnect the page may hold the old run's elements a moment
        stop_button(page).first.click()
        page.get_by_text(re.compile(r"^stopped in epoch")).first.wait_for(timeout=30_000)
    finally:
        context.close()
        proxy.close()


def test_two_learners_take_turns_and_each_page_says_so(server, browser):
    """Two sessions press Start one after the other on the server's one slot: the second trains within a
    turn or two, the first waits meanwhile with its chart in place and says how long until it goes on."""
    pages = []
    for _ in range(2):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(f"{server.url}/Train")
        wait_idle(page, "Train")
        set_training(page, epochs=3)  # the fast preset on all 60,000 digits: longer than a few turns
        pages.append(page)
    first, second = pages
    try:
        first.get_by_role("button", name="Start", exact=True).click()
        first.get_by_text(re.compile(r"^training: epoch")).wait_for(timeout=60_000)
        pressed = time.monotonic()
        second.get_by_role("button", name="Start", exact=True).click()
        second.get_by_text(re.compile(r"^Waiting for a training slot: you are number 1 in line")).wait_for()
        second.get_by_text(re.compile(r"^training: epoch")).wait_for(timeout=60_000)
        print(f"\nthe second learner's run trained {time.monotonic() - pressed:.1f} s after Start")
        first.get_by_text(re.compile(r"^Taking turns: 2 runs share this server's 1 training slot")).wait_for(
            timeout=30_000
        )
        assert first.locator(".js-plotly-plot").count() >= 1  # its chart stays while it waits
        first.get_by_text(re.compile(r"^training: epoch")).wait_for(timeout=60_000)  # and its turn comes again
    finally:
        for page in pages:
            stop = stop_button(page)
            if stop.is_enabled():
                stop.click()
            page.get_by_text(re.compile(r"^stopped in epoch")).wait_for(timeout=30_000)
            page.context.close()


def path_ticks(page) -> list[bool]:
    """The Home page's path: whether each step shows as done."""
    links = page.locator(".st-key-path").get_by_test_id("stPageLink").all_inner_texts()
    assert len(links) == 5, links
    return ["✅" in link for link in links]


def go_to(page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click()
    wait_idle(page, PAGES["" if name == "Home" else name.replace(" ", "_")])


def test_one_story_from_a_first_stroke_to_a_trained_network_and_back(server, page):
    """The path ticks as a learner walks it; the drawing survives the Sketch pad -> Train -> a run ->
    the Sketch pad; Play, animated in the browser, reaches now in time while another process keeps a
    core busy."""
    page.goto(server.url)
    wait_idle(page, PAGES[""])
    assert path_ticks(page) == [False] * 5
    screenshot(page, "home-path-start")

    go_to(page, "Sketch pad")
    draw_digit(page, DIGITS["7"])
    playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("7", timeout=30_000)
    page.wait_for_selector(IDLE)
    drawing = page.get_by_test_id("sketch-pad").evaluate("c => c.toDataURL()")
    digit_seen = page.get_by_test_id("reading").locator("img").get_attribute("src")
    page.locator(".st-key-next-step").get_by_text("Train a network from scratch").wait_for()
    go_to(page, "Home")
    assert path_ticks(page) == [True, False, False, False, False]

    go_to(page, "Train")
    set_training(page, images="10,000", epochs=1)
    page.get_by_role("button", name="Start", exact=True).click()
    wait_for_run_end(page)
    page.locator(".st-key-next-step").get_by_text("Replay what training did to your digit").wait_for()

    go_to(page, "Sketch pad")
    page.get_by_test_id("reading").wait_for(timeout=30_000)  # the drawing came back with the page
    page.locator(".st-key-journey .gtitle").wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    assert page.get_by_test_id("sketch-pad").evaluate("c => c.toDataURL()") == drawing
    assert page.get_by_test_id("reading").locator("img").get_attribute("src") == digit_seen
    expected = ["0", "1", "2", "4", "8", "16", "32", "64", "78", "now"]  # 78 steps: the snapshots, then now
    allowed = (len(expected) - 1) / 4 + 3  # frames at 4 a second, and 3 s
    with busy_core():
        frames, seconds = play_replay(page, timeout_s=allowed + 10)
    print(f"\nPlay with a busy core: {len(frames) - 1} frames to now in {seconds} s (at most {allowed} s)")
    assert frames == expected and seconds is not None and seconds <= allowed
    assert page.locator(".st-key-journey .gtitle").text_content().startswith("now: ")
    screenshot(page, "replay-played", page.locator(".st-key-journey"))
    go_to(page, "Home")
    assert path_ticks(page) == [True, True, True, False, False]
    screenshot(page, "home-path-in-progress")

    # the learner clears it: it stays gone
    go_to(page, "Sketch pad")
    page.get_by_test_id("reading").wait_for(timeout=30_000)
    page.get_by_role("button", name="Clear my drawing").click()
    page.get_by_text("Nothing drawn yet: draw a digit.").wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    blank = page.get_by_test_id("sketch-pad").evaluate("c => c.toDataURL()")
    assert blank != drawing and page.get_by_test_id("reading").count() == 0
    go_to(page, "Train")
    go_to(page, "Sketch pad")
    page.get_by_text("Nothing drawn yet: draw a digit.").wait_for(timeout=30_000)
    assert page.get_by_test_id("reading").count() == 0


def learner_rows(store: Path, secret: str) -> int:
    """The rows the store file holds for the browser whose cookie is `secret` (SQLite's own view)."""
    import hashlib
    import sqlite3

    key = hashlib.sha256(secret.encode()).hexdigest()
    with contextlib.closing(sqlite3.connect(store)) as db:
        return db.execute("SELECT count(*) FROM parts WHERE learner = ?", (key,)).fetchone()[0]


def watched_sketch_pad(context, server: Server, problems: list[str]):
    """A new page of `context` on the Sketch pad, its console errors and failed requests into `problems`;
    and its requests in flight, to settle before it is closed."""
    page = context.new_page()
    requests = watch(page, problems)
    page.goto(f"{server.url}/Sketch_pad")
    wait_idle(page, "Sketch pad")
    return page, requests


def close_settled(page, requests: Requests) -> None:
    """Close `page` once no request is in flight: a lazy script aborted by the close is not the app's failure."""
    requests.settle()
    page.close()


def assert_work_back(page, url: str, requests: Requests, navigate: bool = True) -> None:
    """The run, the digits and the drawing of `test_a_learners_work_survives_...`, on their pages."""
    if navigate:
        requests.settle()  # a navigation would abort the last page's lazy scripts
        page.goto(f"{url}/Train")
    wait_idle(page, "Train")
    page.get_by_text(re.compile(r"^Welcome back: your model, 1 run, 10 digits and your drawing are back\. "
                                r"Your model: random init \+ 1 epoch here\.")).wait_for()  # fmt: skip
    playwright_api.expect(page.get_by_test_id("run-settings").locator("thead")).to_contain_text("run 1", timeout=30_000)
    assert page.get_by_test_id("stSidebar").get_by_text("Source: random init + 1 epoch here").is_visible()
    requests.settle()  # the Train page's lazy scripts arrive before the page changes
    page.get_by_test_id("stSidebarNav").get_by_text("Sketch pad", exact=True).click()
    wait_idle(page, "Sketch pad")
    playwright_api.expect(page.get_by_test_id("prediction")).to_be_visible(timeout=30_000)  # the drawing, read
    page.get_by_text(re.compile(r"^#10: a 7")).wait_for()


def test_a_learners_work_survives_a_reload_and_a_restarted_server_and_is_theirs_alone(browser, tmp_path):
    server = Server(tmp_path)
    try:
        first = browser.new_context(viewport={"width": 1400, "height": 1600})
        problems: list[str] = []
        page, requests = watched_sketch_pad(first, server, problems)
        draw_digit(page, DIGITS["7"])
        for i in range(1, 11):
            page.wait_for_selector(IDLE)
            page.get_by_role("button", name="Add to my digits").click()
            page.get_by_text(re.compile(rf"^#{i}: a 7")).wait_for(timeout=30_000)
        requests.settle()
        train_from_scratch(page, server, start_seed=3)
        (cookie,) = [c for c in first.cookies() if c["name"] == "lenet_learner"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie["value"]) and cookie["sameSite"] == "Strict"
        assert server.url not in cookie["value"] and cookie["value"] not in page.url  # never in the address
        page.wait_for_timeout(3_000)  # the keeper writes every 2 s
        requests.settle()  # the Train page's lazy scripts: F5 would abort them
        page.reload()  # F5
        assert_work_back(page, server.url, requests, navigate=False)
        tab = first.new_page()  # a new tab of the same browser: the same work
        tab_requests = watch(tab, problems)
        assert_work_back(tab, server.url, tab_requests)
        close_settled(tab, tab_requests)

        other = browser.new_context()  # another browser, the same address: a fresh session
        stranger = other.new_page()
        stranger.goto(f"{server.url}/Train")
        wait_idle(stranger, "Train")
        assert stranger.get_by_test_id("run-settings").count() == 0
        assert stranger.get_by_test_id("stSidebar").get_by_text("Source: pretrained").is_visible()
        forged = browser.new_context()
        forged.add_cookies([{**cookie, "value": "A" * 43}, ])  # fmt: skip
        forger = forged.new_page()
        forger.goto(f"{server.url}/Train")
        wait_idle(forger, "Train")
        assert forger.get_by_test_id("stSidebar").get_by_text("Source: pretrained").is_visible()
        assert forger.get_by_text("Welcome back").count() == 0
        forged.close()
        other.close()

        assert not problems, "\n".join(problems)
        close_settled(page, requests)  # a page left open would count its reconnection attempts as failures
        assert_clean_log(server.stop())
        server = Server(tmp_path)  # a restarted server, the same store, the same browser
        page = first.new_page()
        requests = watch(page, problems)
        assert_work_back(page, server.url, requests)

        other_tab, other_requests = watched_sketch_pad(first, server, problems)  # the same work, in a second tab
        other_tab.get_by_text(re.compile(r"^#10: a 7")).wait_for()
        page.get_by_role("button", name="Forget me").click()
        page.get_by_text("Forgotten: this server keeps nothing of your work now.").wait_for()
        page.wait_for_selector(IDLE)
        assert learner_rows(server.store, cookie["value"]) == 0
        other_tab.get_by_test_id("stSidebarNav").get_by_text("Train", exact=True).click()  # its next page run
        other_tab.get_by_text("Forgotten in another tab: this server keeps nothing of your work now.").wait_for()
        other_tab.wait_for_timeout(3_000)  # the keeper's round: it writes nothing back
        assert learner_rows(server.store, cookie["value"]) == 0
        close_settled(other_tab, other_requests)
        (renewed,) = [c for c in first.cookies() if c["name"] == "lenet_learner"]
        assert renewed["value"] != cookie["value"]
        requests.settle()
        page.reload()
        wait_idle(page, "Sketch pad")
        assert page.get_by_text(re.compile(r"^#1: a 7")).count() == 0 and page.get_by_text("Welcome back").count() == 0
        requests.settle()
        first.close()
        assert not problems, "\n".join(problems)
    finally:
        assert_clean_log(server.stop())


def test_a_store_that_cannot_be_used_leaves_the_app_working_and_says_so(browser, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "learners.sqlite").write_bytes(b"not a database at all" * 100)
    server = Server(tmp_path, env={"LENET_STORE_DIR": str(store)})
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        problems: list[str] = []
        page, requests = watched_sketch_pad(context, server, problems)
        page.get_by_test_id("stSidebar").get_by_text(
            re.compile(r"^Your work is not saved on this server \(the store learners.sqlite cannot be used: "
                       r"the file is not a store this app can read")).wait_for()  # fmt: skip
        assert page.get_by_role("button", name="Forget me").count() == 0
        draw_digit(page, DIGITS["7"])
        playwright_api.expect(page.get_by_test_id("prediction")).to_have_text("7", timeout=30_000)
        requests.settle()
        context.close()
        assert not problems, "\n".join(problems)
        assert (store / "learners.sqlite").read_bytes() == b"not a database at all" * 100  # left as it was
    finally:
        assert_clean_log(server.stop())


# The arithmetic shown under a picked unit, read as numbers: U+2212 is the minus sign the page writes.
UNIT_JS = """view => { const d = view.querySelector('[data-testid=unit-arithmetic] .detail');
    const read = s => parseFloat(s.replace('\u2212', '-').replace(/[()]/g, ''));
    const grids = [...d.querySelectorAll('figure.grid')];
    const products = grids.filter(g => g.querySelector('figcaption').textContent === 'products')
        .flatMap(g => [...g.querySelectorAll('td')].map(td => read(td.textContent)));
    const rows = [...d.querySelectorAll('[data-testid=unit-product]')].map(r => read(r.cells[3].textContent));
    const bias = d.querySelector('[data-testid=unit-bias]');
    return { text: d.innerText, products, rows, bias: bias ? read(bias.textContent) : null,
             total: read(d.querySelector('[data-testid=unit-total]').textContent) }; }"""


DETAIL_JS = "v => v.querySelector('[data-testid=unit-arithmetic] .detail').innerText"


def pick_unit(page, stage: int, tile: int, row: int, col: int, touch: bool = False) -> dict:
    """Click (or tap) the cell of a unit in its step's picture, from the picture's own geometry; wait for
    its arithmetic and return it as numbers."""
    view = page.get_by_test_id("forward-view")
    picture = view.locator("section.stage").nth(stage).locator(".picture")
    picture.scroll_into_view_if_needed()
    geometry = picture.evaluate(
        "p => { const i = p.querySelector('img'); return {w: i.naturalWidth, h: i.naturalHeight}; }"
    )
    box = picture.bounding_box()
    return _pick_at(page, view, picture, box, geometry, stage, tile, row, col, touch)


def _pick_at(page, view, picture, box, geometry, stage, tile, row, col, touch, zoomed=False) -> dict:
    cells = STAGE_GEOMETRY[stage] if not zoomed else ZOOM_GEOMETRY[stage]
    columns, rows, cols, cell, gap = cells
    place = 0 if zoomed else tile  # the zoom shows the one map
    x = (place % columns) * (cols * cell + gap) + (col + 0.5) * cell
    y = (place // columns) * (rows * cell + gap) + (row + 0.5) * cell
    position = {"x": x * box["width"] / geometry["w"], "y": y * box["height"] / geometry["h"]}
    before = view.evaluate(DETAIL_JS)
    if touch:
        picture.tap(position=position)
    else:
        picture.click(position=position)
    deadline = time.monotonic() + 30  # the component's shadow root: polled, as wait_for_function cannot see in
    while view.evaluate(DETAIL_JS) == before:
        assert time.monotonic() < deadline, f"the pick of {(stage, tile, row, col)} was not answered"
        page.wait_for_timeout(50)
    page.wait_for_selector(IDLE)
    return view.evaluate(UNIT_JS)


# (tiles a row, rows, cols, px a cell, px between tiles) of each step's picture, as forward_view lays them out
STAGE_GEOMETRY = {1: (3, 30, 30, 3, 4), 12: (1, 1, 10, 28, 4)}
ZOOM_GEOMETRY = {1: (1, 30, 30, 10, 0)}


def expected_outputs(index: int) -> dict:
    """The pretrained model's own outputs for MNIST test digit `index`, computed here."""
    import torch

    from lenet.network.anatomy import forward_steps
    from lenet.network.data import load_mnist, to_network_input
    from lenet.network.model import Net
    from lenet.store.checkpoint import pretrained

    model = Net()
    model.load_state_dict(pretrained().weights)
    x = to_network_input(load_mnist().test_images[index : index + 1, 0, 2:-2, 2:-2])
    with torch.no_grad():
        return {step.module: step.output[0] for step in forward_steps(model, x) if step.module}


def assert_adds_up(shown: dict, terms: list[float]) -> None:
    """The numbers on screen add up to the total on screen, give or take each one's rounding (3 decimals)."""
    assert abs(sum(terms) - shown["total"]) <= 0.0005 * (len(terms) + 1), shown["text"]


def test_your_digit_through_forward_and_the_arithmetic_of_any_unit(server, browser):
    """Pick a conv1 unit and an fc3 unit by click at 1280 px and by touch at 390 px: the numbers shown add up
    and are the model's own (MNIST test digit 0, the pretrained model)."""
    outputs = expected_outputs(0)
    for width, touch in ((1280, False), (390, True)):
        context = browser.new_context(viewport={"width": width, "height": 900}, has_touch=touch, is_mobile=touch)
        page = context.new_page()
        problems: list[str] = []
        watch(page, problems)
        page.goto(f"{server.url}/Architecture")
        wait_idle(page, "Architecture")
        page.get_by_text("MNIST test digit 0, a 7").wait_for()
        conv = pick_unit(page, 1, 4, 10, 12, touch)
        assert "Unit (4, 10, 12) of self.conv1" in conv["text"] and len(conv["products"]) == 9
        assert_adds_up(conv, [*conv["products"], conv["bias"]])
        assert conv["total"] == pytest.approx(float(outputs["conv1"][4, 10, 12]), abs=0.0006)
        if not touch:
            screenshot(page, "architecture-unit", page.get_by_test_id("unit-arithmetic"))
        if touch:  # a finger picks a number in the map made larger under the picture
            zoom = page.get_by_test_id("forward-view").locator(".zoom .picture")
            geometry = zoom.evaluate(
                "p => { const i = p.querySelector('img'); return {w: i.naturalWidth, h: i.naturalHeight}; }"
            )
            view = page.get_by_test_id("forward-view")
            conv = _pick_at(page, view, zoom, zoom.bounding_box(), geometry, 1, 4, 20, 7, True, zoomed=True)
            assert "Unit (4, 20, 7) of self.conv1" in conv["text"]
            assert conv["total"] == pytest.approx(float(outputs["conv1"][4, 20, 7]), abs=0.0006)
            screenshot(page, "architecture-unit-phone")
        fc3 = pick_unit(page, 12, 0, 0, 7, touch)
        assert "Unit 7 of self.fc3" in fc3["text"] and len(fc3["rows"]) == 10  # 8 products, the rest, the bias
        assert_adds_up(fc3, fc3["rows"])
        assert fc3["total"] == pytest.approx(float(outputs["fc3"][7]), abs=0.0006)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
        screenshot(page, f"architecture-forward-{width}")
        context.close()
        assert not problems, "\n".join(problems)


def test_build_your_own_lenet_meets_the_real_error_then_trains_reads_and_compares(server, page):
    """Kernels 5 x 5 with fc1 pinned to the tutorial's 576: PyTorch's own error and its fix; then a LeNet-5-like
    network is used, trained for an epoch, reads a drawing and sits beside a run of the tutorial's network."""
    train_from_scratch(page, server, start_seed=3)  # run 1: the tutorial's network
    go_to(page, "Architecture")
    page.get_by_role("heading", name="Build your own LeNet").scroll_into_view_if_needed()
    page.get_by_text("pinned to a number", exact=True).click()
    page.wait_for_selector(IDLE)
    page.get_by_text("5 x 5", exact=True).click()
    error = page.get_by_text("mat1 and mat2 shapes cannot be multiplied (1x400 and 576x120)")
    error.wait_for(timeout=30_000)
    assert page.get_by_text("16 x 5 x 5 = 400", exact=True).is_visible()
    screenshot(page, "architecture-editor-error", page.locator(".st-key-editor"))
    page.get_by_role("button", name="Fix: let fc1 follow the flatten").click()
    playwright_api.expect(error).to_have_count(0, timeout=30_000)
    page.wait_for_selector(IDLE)
    page.get_by_role("radiogroup", name="Padding").get_by_text("2", exact=True).click()  # LeNet-5's 32 x 32 maps
    page.get_by_text("136,586 parameters").wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Use this network").click()
    page.get_by_text("Your model is now kernel 5, padding 2, fresh weights from start seed 0.").wait_for(timeout=30_000)
    page.get_by_text("Network: kernel 5, padding 2 (136,586 parameters)").wait_for()
    page.wait_for_selector(IDLE)
    screenshot(page, "architecture-editor", page.locator(".st-key-editor"))
    train_from_scratch(page, server, start_seed=3)  # run 2: the same settings on the network made here
    go_to(page, "Sketch pad")
    draw_digit(page, DIGITS["1"])
    page.get_by_test_id("prediction").wait_for(timeout=30_000)
    page.get_by_text("6 maps of 32 x 32", exact=False).wait_for()  # its own conv1's maps
    go_to(page, "Train")
    table = page.get_by_test_id("run-settings")
    playwright_api.expect(table).to_contain_text("kernel 5, padding 2", timeout=30_000)
    rows = table.locator("tbody tr").evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText))")
    compared = {row[0].strip().rstrip(" ≠"): row[1:] for row in rows}
    assert compared["Network"] == ["the tutorial's network", "kernel 5, padding 2"]
    assert compared["Parameters"] == ["81,194", "136,586"]
    traces = chart_with(page, "run 1: network the tutorial's network: loss")
    assert "run 2: network kernel 5, padding 2: loss" in traces  # overlaid on one chart, named by what differs
    # the trained model the new network replaced is one click away, and the other one after it, after a reload
    offer = page.locator(".st-key-bring-back-train")
    playwright_api.expect(offer).to_contain_text(
        re.compile(r"random init \+ 1 epoch here; the tutorial's network \(81,194 parameters\); [0-9.]+% right on")
    )
    offer.get_by_role("button", name="↩ Bring it back").click()
    page.get_by_text(re.compile(r"^Your model is back: random init \+ 1 epoch here; the tutorial's")).wait_for()
    page.wait_for_selector(IDLE)
    assert page.get_by_test_id("stSidebar").get_by_text("Network:").count() == 0  # the tutorial's again
    playwright_api.expect(offer).to_contain_text("random init + 1 epoch here; kernel 5, padding 2 (136,586 parameters)")
    page.wait_for_timeout(3_000)  # the keeper writes every 2 s
    REQUESTS[page].settle()  # F5 would abort the page's lazy scripts
    page.reload()
    wait_idle(page, "Train")
    playwright_api.expect(offer).to_contain_text("kernel 5, padding 2 (136,586 parameters)", timeout=30_000)
    offer.get_by_role("button", name="↩ Bring it back").wait_for()
    page.wait_for_selector(IDLE)
    screenshot(page, "bring-back", offer)
    # run 1's replay ends at now, the model that carries it on; after Continue from its step 0, at its own end
    go_to(page, "Sketch pad")
    draw_digit(page, DIGITS["7"])
    journey = page.locator(".st-key-journey")
    journey.locator(".gtitle").wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    assert replay_labels(page)[-2:] == ["78", "now"]
    slider = page.get_by_role("slider", name="Model at step")
    slider.focus()
    slider.press("Home")
    page.get_by_role("button", name="Continue from step 0: make it your model").click()
    page.get_by_text(re.compile(r"^Your model is now the weights of step 0 of run 1")).wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    page.get_by_text(re.compile(r"Your model now does not carry on from run 1")).wait_for(timeout=30_000)
    assert replay_labels(page)[-2:] == ["64", "78"]
    screenshot(page, "replay-not-carried-on", journey)
    assert page.get_by_test_id("stSidebar").get_by_text("Source: step 0 of run 1").is_visible()
