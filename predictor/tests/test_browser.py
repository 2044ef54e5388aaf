"""End to end in headless Chromium against the live app: upload, draw, feedback, admin review.

Needs Debian's `chromium` (CI installs it in .ci/run) and the `playwright` Python client, which
drives the system browser; no browser is downloaded.
"""

from __future__ import annotations

import io
import os
import shutil

import pytest
from django.contrib.auth.models import User
from PIL import Image

from feedback.models import Feedback, NumberFeedback
from predictor.tests import renders
from predictor.views import PHOTO_UPLOAD_SIDE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DIGITS, LABELS = renders.mnist_samples()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (CI installs it: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the test thread queries the DB while Playwright's loop runs
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda message: page.problems.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text else None)
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("response", lambda response: page.problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.base = live_server.url
    yield page
    context.close()


def test_upload_a_photo_shows_digit_and_chart(page, tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(renders.phone_photo(DIGITS[5]))
    page.goto(page.base + "/")
    page.set_input_files("#id_image", str(photo))  # choosing a file submits the form
    page.wait_for_selector("body.chart-drawn #probability-chart-0 .main-svg", timeout=20_000)
    assert page.inner_text("[data-testid=digit]") == str(LABELS[5])
    assert page.locator("[data-testid=feature-map-layer]").count() == 4
    assert page.problems == []


def test_a_camera_photo_is_shrunk_and_turned_upright_before_it_is_sent(page, tmp_path, settings):
    """A phone camera's JPEG, stored sideways with an EXIF rotation, larger than the server takes:
    the page sends it at PHOTO_UPLOAD_SIDE px, upright, and it is read."""
    photo = tmp_path / "camera.jpg"
    photo.write_bytes(renders.phone_photo(DIGITS[4], size=(1800, 2400), digit_height=620, exif_orientation=6))
    settings.MAX_UPLOAD_BYTES = photo.stat().st_size // 2  # the photo as it is would be refused
    page.goto(page.base + "/")
    page.set_input_files("#id_image", str(photo))
    page.wait_for_selector("[data-testid=digit]", timeout=20_000)
    assert page.inner_text("[data-testid=digit]") == str(LABELS[4])
    page.click("button.yes")
    page.wait_for_selector("text=Thank you!")
    with Feedback.objects.get().original.open("rb") as handle, Image.open(handle) as stored:
        assert stored.format == "JPEG" and stored.size == (PHOTO_UPLOAD_SIDE, PHOTO_UPLOAD_SIDE * 3 // 4)
        assert stored.getexif().get(0x0112, 1) == 1, "rotation applied, not left to the tag"
    assert page.problems == []


def test_small_photos_and_other_pictures_are_sent_as_they_are(page, tmp_path):
    big_png = renders.encode(Image.open(io.BytesIO(renders.scan(DIGITS[6]))).resize((2000, 2000)))
    for name, data in (("photo.jpg", renders.phone_photo(DIGITS[5])), ("big-scan.png", big_png)):
        path = tmp_path / name
        path.write_bytes(data)
        page.goto(page.base + "/")
        page.set_input_files("#id_image", str(path))
        page.click("button.yes")
        page.wait_for_selector("text=Thank you!")
        with Feedback.objects.latest("pk").original.open("rb") as handle:
            assert handle.read() == data, f"{name} is stored as it was chosen"
    assert page.problems == []


def test_a_file_the_browser_cannot_read_still_reaches_the_server(page, tmp_path):
    """Named and typed as a JPEG, but not one: the page's shrinking gives up and sends it as it is,
    and the server's message is shown."""
    broken = tmp_path / "photo.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
    page.goto(page.base + "/")
    page.set_input_files("#id_image", str(broken))
    page.wait_for_selector("p.error", timeout=20_000)
    assert "not a picture we can read" in page.inner_text("p.error")


PLOTLY_AS_SCRIPT = ("performance.getEntriesByType('resource').some("
                    "(entry) => entry.name.includes('plotly') && entry.initiatorType === 'script')")


def test_draw_a_digit_on_the_pad(page):
    page.goto(page.base + "/")
    # The page is ready without plotly.js; it is only prefetched into the cache, and run once the
    # pad is used.
    assert page.evaluate("typeof window.Plotly") == "undefined" and not page.evaluate(PLOTLY_AS_SCRIPT)
    box = page.locator("#drawpad").bounding_box()
    x = box["x"] + box["width"] * 0.5
    page.mouse.move(x, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    for step in range(1, 21):  # a vertical stroke: a "1"
        page.mouse.move(x + step * 0.4, box["y"] + box["height"] * (0.2 + step * 0.03))
    page.mouse.up()
    page.wait_for_selector("#drawpad-result:not([hidden])", timeout=20_000)  # no eval: the CSP forbids it
    assert page.inner_text("#drawpad-digit") == "1"
    page.wait_for_selector("#drawpad-chart .plot-container", timeout=20_000)  # plotly.js arrives meanwhile
    assert page.locator("#drawpad-chart .plot-container").count() == 1, "the chart was drawn"
    assert page.evaluate(PLOTLY_AS_SCRIPT)
    page.click("#drawpad-result summary")
    assert page.locator("#drawpad-maps canvas").count() == 4, "one feature-map grid per conv layer"
    assert page.get_attribute("#drawpad-input", "src").startswith("data:image/png;base64,")
    page.click("#drawpad-result [data-feedback-label=yes]")
    page.wait_for_selector("#drawpad-thanks:has-text('Thank you')")
    record = Feedback.objects.get()
    assert record.label == 1 and record.user_said_correct
    assert page.problems == []
    assert accessibility_problems(page) == [], "the pad's result, chart, maps and thanks"


def log_in_to_the_review_list(page) -> None:
    """A reviewer logs into the admin and lands on the feedback list."""
    User.objects.create_superuser("reviewer", "r@example.com", "a-Long-Password-9")
    page.goto(page.base + "/admin/login/?next=/admin/feedback/feedback/")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", "a-Long-Password-9")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")


def test_feedback_then_staff_approves_in_the_admin(page, tmp_path):
    photo = tmp_path / "scan.png"
    photo.write_bytes(renders.scan(DIGITS[7]))
    page.goto(page.base + "/")
    page.set_input_files("#id_image", str(photo))
    page.wait_for_selector("[data-testid=digit]")
    page.click("button.yes")
    page.wait_for_selector("text=Thank you!")
    record = Feedback.objects.get()
    assert record.status == "pending" and record.label == record.predicted_digit

    log_in_to_the_review_list(page)
    page.check(f"input[name=_selected_action][value='{record.pk}']")
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.wait_for_selector("text=Approved 1 record")
    record.refresh_from_db()
    assert record.status == "approved" and record.reviewed_by.username == "reviewer"
    assert page.problems == []


MAKE_TRANSFER = """(bytes) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], "dropped.png", {type: "image/png"}));
    return transfer;
}"""


def test_drop_a_file_on_the_upload_card(page):
    page.goto(page.base + "/")
    data = list(renders.scan(DIGITS[3]))
    transfer = page.evaluate_handle(MAKE_TRANSFER, data)
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("body.chart-drawn", timeout=20_000)
    assert page.inner_text("[data-testid=digit]") == str(LABELS[3])
    assert page.problems == []


def test_paste_a_picture(page):
    page.goto(page.base + "/")
    data = list(renders.transparent_canvas(DIGITS[9]))
    page.evaluate(
        "(bytes) => { const transfer = new DataTransfer();"
        " transfer.items.add(new File([new Uint8Array(bytes)], 'pasted.png', {type: 'image/png'}));"
        " document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: transfer})); }",
        data,
    )
    page.wait_for_selector("body.chart-drawn", timeout=20_000)
    assert page.inner_text("[data-testid=digit]") == str(LABELS[9])
    assert page.problems == []


def test_draw_with_touch_on_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live_server.url + "/")
    box = page.locator("#drawpad").bounding_box()
    assert box["x"] + box["width"] <= 390, "the pad fits a phone screen"
    # Touch input reaches the pad as pointer events; drive them the way a finger would.
    page.dispatch_event("#drawpad", "pointerdown", {"pointerId": 2, "pointerType": "touch", "isPrimary": True,
                                                    "clientX": box["x"] + box["width"] / 2, "clientY": box["y"] + 40})
    for step in range(1, 16):
        page.dispatch_event("#drawpad", "pointermove", {"pointerId": 2, "pointerType": "touch", "isPrimary": True,
                                                        "clientX": box["x"] + box["width"] / 2 + step * 0.3,
                                                        "clientY": box["y"] + 40 + step * 12})
    page.dispatch_event("#drawpad", "pointerup", {"pointerId": 2, "pointerType": "touch", "isPrimary": True})
    page.wait_for_selector("#drawpad-result:not([hidden])", timeout=20_000)
    assert page.inner_text("#drawpad-digit") == "1"
    assert accessibility_problems(page) == [], "on a phone screen"
    context.close()


def accessibility_problems(page) -> list[str]:
    """axe-core's findings on the page as it is now (every rule axe runs by default, WCAG 2.x A/AA
    included), one line each; axe is bundled with axe-playwright-python, nothing is downloaded."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(node["target"][0] for node in violation["nodes"][:3])
            for violation in results.response["violations"]]


def test_home_and_live_results_pass_an_accessibility_audit(page, tmp_path):
    page.goto(page.base + "/")
    assert accessibility_problems(page) == []
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(renders.phone_photo(DIGITS[5]))
    page.set_input_files("#id_image", str(photo))
    page.wait_for_selector("body.chart-drawn #probability-chart-0 .main-svg", timeout=20_000)
    page.locator("details").evaluate_all("(all) => all.forEach((d) => { d.open = true; })")
    assert accessibility_problems(page) == [], "the result, its chart, model input and feature maps"
    page.click("button.yes")
    page.wait_for_selector("text=Thank you!")
    assert accessibility_problems(page) == [], "after feedback"


def test_pages_without_javascript_pass_an_accessibility_audit(browser, live_server, tmp_path):
    """The plain-form result page and the thank-you page, as a browser without JavaScript gets
    them, audited in a browser with JavaScript (axe needs it) on the same URLs."""
    photo = tmp_path / "scan.png"
    photo.write_bytes(renders.scan(DIGITS[7]))
    plain = browser.new_context(java_script_enabled=False)
    page = plain.new_page()
    page.goto(live_server.url + "/")
    page.set_input_files("#id_image", str(photo))
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=digit]")
    result_html = page.content()
    page.click("button.yes")
    page.wait_for_selector("text=Thank you")
    thanks_html = page.content()
    plain.close()

    audited = browser.new_context()
    page = audited.new_page()
    for name, html in (("result", result_html), ("thanks", thanks_html)):
        url = f"{live_server.url}/audit-{name}/"
        page.route(url, lambda route, _request, html=html: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
        page.goto(url)
        assert accessibility_problems(page) == [], name
    audited.close()


def test_keyboard_alone_reaches_the_upload_and_gives_feedback(page, tmp_path):
    page.goto(page.base + "/")
    reached = []
    for _ in range(10):  # Tab from the top of the page to the file picker
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
        if reached[-1] == "id_image":
            break
    assert reached[-1] == "id_image", f"focus went {reached}"
    photo = tmp_path / "scan.png"
    photo.write_bytes(renders.scan(DIGITS[2]))
    page.set_input_files("#id_image", str(photo))
    page.wait_for_selector("button.yes")
    page.focus("button.yes")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid", "focus is visible"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Thank you!")
    assert Feedback.objects.get().user_said_correct


def _draw(page, strokes: list[list[tuple[float, float]]]) -> None:
    """Mouse strokes on the pad, each a list of points as shares of its width and height."""
    box = page.locator("#drawpad").bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for start, end in zip(points, points[1:]):
            for step in range(1, 6):  # a few moves per segment, as a hand gives
                t = step / 5
                page.mouse.move(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
        page.mouse.up()


#: "42" as a hand draws it on the 2:1 pad: an open four in two strokes, then a two.
FORTY_TWO = [
    [(0.22, 0.15), (0.14, 0.58), (0.34, 0.58)],
    [(0.29, 0.25), (0.29, 0.85)],
    [(0.50, 0.30), (0.55, 0.17), (0.63, 0.14), (0.70, 0.20), (0.70, 0.35), (0.62, 0.55), (0.50, 0.83),
     (0.74, 0.83)],
]


def test_draw_a_number_on_the_pad_and_correct_one_digit(page):
    page.goto(page.base + "/")
    _draw(page, FORTY_TWO)
    page.wait_for_selector("#drawpad-result:not([hidden])", timeout=20_000)
    assert page.inner_text("#drawpad-digit") == "42"
    assert page.locator("#drawpad-digits button").count() == 2
    page.wait_for_selector("#drawpad-chart .plot-container", timeout=20_000)
    page.click("[data-testid=drawpad-digit-1]")  # the second digit: its chart and maps
    page.wait_for_selector("[data-testid=drawpad-digit-1][aria-pressed=true]", timeout=20_000)
    page.click("#drawpad-result summary")
    page.wait_for_selector("#drawpad-maps canvas >> nth=3", timeout=20_000)  # no eval: the CSP forbids it
    assert page.locator("#drawpad-maps canvas").count() == 4
    assert page.inner_text("#drawpad-correct-label") == "No, digit 2 is a…"
    page.click("#drawpad-result .digit-choice[data-feedback-label='7']")
    page.wait_for_selector("#drawpad-thanks:has-text('Thank you')")
    record = Feedback.objects.get()
    assert (record.label, record.predicted_digit, record.position) == (7, 2, 1)
    assert record.reading_id
    page.fill("#drawpad-number", "47")
    page.click("#drawpad-number-form button")
    for _ in range(200):  # the thanks line already says thank you: wait for the records instead
        if NumberFeedback.objects.exists():
            break
        page.wait_for_timeout(100)
    page.wait_for_selector("#drawpad-thanks:has-text('Thank you')")
    assert NumberFeedback.objects.get().label == "47"
    assert Feedback.objects.count() == 2, "the whole number adds the first digit; the second stays as corrected"
    assert Feedback.objects.get(position=1).label == 7
    assert page.problems == []
    assert accessibility_problems(page) == [], "the digits of a drawn number"


def test_upload_a_photo_of_a_number_then_staff_find_the_corrected_digit(page, tmp_path):
    from feedback.tests.factories import number_picture

    photo = tmp_path / "number.jpg"
    photo.write_bytes(number_picture("2026", rendering="photo"))
    page.goto(page.base + "/")
    page.set_input_files("#id_image", str(photo))
    page.wait_for_selector("body.chart-drawn", timeout=20_000)
    assert page.inner_text("[data-testid=number]") == "2026"
    assert page.locator("[data-testid=digit-card]").count() == 4
    assert page.locator("[data-testid=digit-crop]").count() == 4
    assert accessibility_problems(page) == [], "the result page of a number"
    page.click("button[aria-label='Digit 4 is a 8']")
    page.wait_for_selector("text=Thank you!")
    record = Feedback.objects.get()
    assert (record.position, record.predicted_digit, record.label) == (3, 6, 8)

    log_in_to_the_review_list(page)
    assert page.locator(f"input[name=_selected_action][value='{record.pk}']").count() == 1
    assert page.problems == []


def test_the_api_docs_page_renders_the_contract_from_this_site_alone(page):
    """/api/docs/ draws the OpenAPI document with the bundled Swagger UI: no CDN, and nothing the
    site's Content-Security-Policy blocks."""
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(page.base + "/api/docs/")
    page.wait_for_selector("#operations-reading-predict")
    text = page.inner_text("#swagger-ui")
    for path in ("/api/predict/", "/api/feedback/", "/healthz", "/api/schema/"):
        assert path in text
    page.click("#operations-reading-predict .opblock-summary")
    page.wait_for_selector("#operations-reading-predict .responses-table")
    assert "422" in page.inner_text("#operations-reading-predict .responses-table")
    assert page.problems == []
    assert requested and all(url.startswith(page.base) or url.startswith("data:") for url in requested), requested
