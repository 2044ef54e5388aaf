"""The originals' Cloud Storage backend, against an in-memory stand-in for Cloud Storage's JSON API."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from google.api_core.exceptions import PreconditionFailed
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client

from mnistsite.storages import CreateOnlyCloudStorage
from predictor.services import store_original

BUCKET = "originals-test"


class FakeCloudStorage(requests.Session):
    """Answers the object requests google-cloud-storage makes (metadata, multipart upload) from a
    dict, and records them; the client's background bucket lookups are answered but not recorded."""

    is_mtls = False

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, tuple[bytes, str]] = {}  # name → (content, content type)
        self.requests: list[tuple[str, str, dict]] = []  # (method, object name or "upload", query)

    def request(self, method, url, data=None, headers=None, **kwargs):
        path, query = urlsplit(url).path, parse_qs(urlsplit(url).query)
        if path.endswith(f"/b/{BUCKET}"):
            return self._answer(method, url, 200, {"name": BUCKET})
        if method == "GET":
            name = unquote(path.split("/o/", 1)[1])
            self.requests.append(("GET", name, query))
            if name not in self.objects:
                return self._answer(method, url, 404, {"error": {"code": 404, "message": "No such object"}})
            return self._answer(method, url, 200, self._metadata(name))
        self.requests.append((method, "upload", query))
        boundary = re.search(rb'boundary="?([^";]+)', headers["content-type"]).group(1)
        metadata_part, content_part = data.split(b"--" + boundary)[1:3]
        metadata = json.loads(metadata_part.split(b"\r\n\r\n", 1)[1])
        part_headers, content = content_part.split(b"\r\n\r\n", 1)
        name = metadata["name"]
        if query.get("ifGenerationMatch") == ["0"] and name in self.objects:
            return self._answer(method, url, 412, {"error": {"code": 412, "message": "Precondition failed"}})
        content_type = re.search(rb"content-type: ([^\r\n]+)", part_headers, re.IGNORECASE).group(1).decode()
        self.objects[name] = (content.removesuffix(b"\r\n"), content_type)
        return self._answer(method, url, 200, self._metadata(name))

    def _metadata(self, name: str) -> dict:
        return {"name": name, "bucket": BUCKET, "generation": "1", "size": str(len(self.objects[name][0]))}

    @staticmethod
    def _answer(method: str, url: str, status: int, body: dict) -> requests.Response:
        response = requests.Response()
        response.status_code, response.url, response._content = status, url, json.dumps(body).encode()
        response.headers["content-type"] = "application/json"
        response.request = requests.Request(method, url).prepare()
        return response


@pytest.fixture
def cloud() -> FakeCloudStorage:
    return FakeCloudStorage()


@pytest.fixture
def originals(cloud) -> CreateOnlyCloudStorage:
    storage = CreateOnlyCloudStorage(bucket_name=BUCKET, default_acl=None, querystring_auth=True)
    storage._client = Client(project="test", credentials=AnonymousCredentials(), _http=cloud)
    return storage


JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def test_an_original_is_written_with_one_conditional_upload(cloud, originals):
    name = originals.save("uploads/2026/11/24/0123abcd.jpg", ContentFile(JPEG))

    assert name == "uploads/2026/11/24/0123abcd.jpg"
    assert cloud.objects[name] == (JPEG, "image/jpeg")
    # django-storages' own backend first asks whether the name is taken and fetches the object:
    # three round trips in a row. One here, and Cloud Storage refuses it if the name is taken.
    [(method, target, query)] = cloud.requests
    assert (method, target, query["ifGenerationMatch"]) == ("POST", "upload", ["0"])


def test_a_taken_name_is_refused_and_the_stored_file_kept(cloud, originals):
    first = originals.save("uploads/2026/11/24/0123abcd.jpg", ContentFile(JPEG))

    with pytest.raises(PreconditionFailed):
        originals.save(first, ContentFile(b"\xff\xd8 something else"))

    assert cloud.objects[first] == (JPEG, "image/jpeg")


def test_store_original_writes_through_the_originals_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "originals": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}

    name = store_original(data=JPEG, image_format="JPEG", token_id="0123abcd")

    assert storages["originals"].open(name).read() == JPEG
    assert not (settings.MEDIA_ROOT / name).exists()
