"""The HTML pages: upload form → result page with digit, chart, model input and feature maps."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from predictor import charts
from predictor.tests import renders
from training.number_pictures import render

DIGITS, LABELS = renders.mnist_samples()


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("digit.jpg", data, content_type="image/jpeg")


def test_the_result_page_is_gzipped_for_browsers_that_accept_it(client):
    photo = renders.phone_photo(DIGITS[5])
    plain = client.post("/predict/", {"image": upload(photo)})
    zipped = client.post("/predict/", {"image": upload(photo)}, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert plain.get("Content-Encoding") is None
    assert zipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped["Vary"]
    html = gzip.decompress(zipped.content).decode()
    assert len(zipped.content) < 0.8 * len(plain.content)
    assert f'data-testid="digit">{LABELS[5]}<' in html and html.count('data-testid="feature-map-layer"') == 4


def test_home_page_has_an_upload_form(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'name="image"' in html and 'accept="image/*"' in html
    assert "csrfmiddlewaretoken" in html


def test_upload_shows_digit_chart_model_input_and_feature_maps(client):
    response = client.post("/predict/", {"image": upload(renders.phone_photo(DIGITS[5]))})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-testid="digit">{LABELS[5]}<' in html
    assert 'id="probability-chart-0"' in html and 'id="probability-chart-0-data"' in html
    assert "/static/plotly/plotly-basic.min.js" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing is loaded from another site"
    assert 'alt="The 28 by 28 pixel picture the model read"' in html
    assert html.count('data-testid="feature-map-layer"') == 4
    for layer in ("conv1", "conv2", "conv3", "conv4"):
        assert f"<code>{layer}</code>" in html
    assert response.context["reading"].number == str(LABELS[5])


def test_chart_data_holds_all_ten_probabilities(client):
    response = client.post("/predict/", {"image": upload(renders.encode(Image.fromarray(DIGITS[0])))})
    figure = response.context["digits"][0]["chart"]
    assert figure["data"][0]["type"] == "bar"
    assert figure["data"][0]["x"] == [str(d) for d in range(10)]
    assert sum(figure["data"][0]["y"]) == pytest.approx(1.0, abs=1e-3)


def test_unsure_message(client, settings):
    settings.UNSURE_BELOW = 1.01
    response = client.post("/predict/", {"image": upload(renders.encode(Image.fromarray(DIGITS[0])))})
    assert "Not sure" in response.content.decode()


def test_blank_page_says_no_digit_found(client):
    response = client.post("/predict/", {"image": upload(renders.blank_page())})
    assert response.status_code == 422
    assert "No digit found" in response.content.decode()
    assert 'name="image"' in response.content.decode(), "the form is offered again"


def test_bad_file_gets_a_friendly_page(client):
    response = client.post("/predict/", {"image": SimpleUploadedFile("x.png", b"%PDF-1.4", content_type="image/png")})
    assert response.status_code == 400
    assert "not a picture we can read" in response.content.decode()


def test_pages_load_plotly_js_basic_bundle_at_the_python_packages_version():
    """The vendored bundle (bar charts and a quarter of the full bundle's bytes) is the plotly.js
    release the `plotly` package, which validates the chart spec below, was built for."""
    import plotly.offline
    from django.contrib.staticfiles import finders

    with open(finders.find("plotly/plotly-basic.min.js"), "rb") as script:
        header = script.read(200).decode()
    assert f"plotly.js (basic - minified) v{plotly.offline.get_plotlyjs_version()}" in header


def test_probability_chart_is_a_valid_plotly_figure():
    import plotly.graph_objects as go

    figure = go.Figure(charts.probability_chart([0.01] * 9 + [0.91]))  # raises on any unknown property
    assert figure.data[0].type == "bar" and len(figure.data[0].y) == 10


def test_favicon_for_pages_without_an_icon_link(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("predictor/favicon.svg")


def test_home_page_offers_draw_pad_drop_zone_and_camera(client):
    html = client.get("/").content.decode()
    assert 'id="drawpad"' in html and 'id="drawpad-undo"' in html and 'id="drawpad-clear"' in html
    assert 'id="drop-zone"' in html and 'capture="environment"' in html
    assert "<noscript>" in html, "without JavaScript the page says the upload still works"
    assert "{#" not in html and "{%" not in html, "no template syntax leaks into the page"


def test_a_number_shows_the_number_then_each_digit_with_its_crop(client):
    from feedback.tests.factories import number_picture

    response = client.post("/predict/", {"image": upload(number_picture("2026"))})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="number">2026<' in html
    assert html.count('data-testid="digit-card"') == 4
    assert html.count('data-testid="digit-crop"') == 4 and html.count('src="data:image/png;base64,') >= 8
    assert html.count('data-testid="feature-map-layer"') == 16, "each digit's maps, folded"
    assert 'id="right-number"' in html and "Digit 4 is a 8" in html


def test_a_point_left_out_of_a_number_is_said(client):
    plain, with_point = (render(ink, rendering="scan", rng=np.random.default_rng(1))[0]
                         for ink in renders.number_with_sign("3140", after=1))
    said = client.post("/predict/", {"image": upload(with_point)}).content.decode()
    assert 'data-testid="number">3140<' in said and "Not sure" in said
    assert 'data-testid="marks-left-out"' in said
    assert 'data-testid="marks-left-out"' not in client.post("/predict/", {"image": upload(plain)}).content.decode()
