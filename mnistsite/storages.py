"""Cloud Storage for the uploaded originals: one request per file, and never an overwrite."""

from __future__ import annotations

import mimetypes

from storages.backends.gcloud import GoogleCloudStorage
from storages.utils import clean_name, get_available_overwrite_name


class CreateOnlyCloudStorage(GoogleCloudStorage):
    """django-storages' Cloud Storage backend, for files saved under fresh random names.

    A photo's original is written before its prediction is answered, so each round trip to
    Cloud Storage adds to what the person waits for. The parent's `save` makes three, one after
    another: it asks whether the name is taken, fetches the object, then uploads. Here the upload
    goes alone and carries the condition that no object has that name yet (`ifGenerationMatch=0`):
    Cloud Storage itself refuses an overwrite, with `google.api_core.exceptions.PreconditionFailed`
    instead of the parent's renaming, so no lookup is needed first. Blob parameters
    (GS_OBJECT_PARAMETERS) apply as in the parent; gzip does not, as no picture type is compressed.
    """

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return get_available_overwrite_name(clean_name(name), max_length)  # the upload itself checks

    def _save(self, name: str, content) -> str:
        name = clean_name(name)
        blob = self.bucket.blob(self._normalize_name(name), chunk_size=self.blob_chunk_size)
        parameters = self.get_object_parameters(name)
        predefined_acl = parameters.pop("acl", self.default_acl)
        content_type = parameters.pop("content_type", mimetypes.guess_type(name)[0])
        for attribute, value in parameters.items():
            setattr(blob, attribute, value)
        blob.upload_from_file(content, rewind=True, size=content.size, content_type=content_type,
                              predefined_acl=predefined_acl, if_generation_match=0)
        return name
