"""Image uploads are written straight into the image store's incoming folder (never held
in memory, never in /tmp), so that taking one in is a rename on one file system."""

import tempfile

from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from apps.images.services import incoming_dir


class IncomingUploadedFile(TemporaryUploadedFile):
    """A TemporaryUploadedFile in the store's incoming folder (removed when the request
    ends unless `start_image_import` took it over)."""

    def __init__(self, name, content_type, size, charset, content_type_extra=None):
        folder = incoming_dir()
        folder.mkdir(parents=True, exist_ok=True)
        file = tempfile.NamedTemporaryFile(suffix=".part", dir=folder)
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class IncomingUploadHandler(TemporaryFileUploadHandler):
    def new_file(self, *args, **kwargs):
        super(TemporaryFileUploadHandler, self).new_file(*args, **kwargs)
        self.file = IncomingUploadedFile(self.file_name, self.content_type, 0, self.charset, self.content_type_extra)
