"""``GET /files/<token>``: download a worker's uploaded file through a link from GetFileUploadURL."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_safe

from . import files
from .models import UploadedFile


def _refuse(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def download(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        key = files.read_token(token)
    except files.LinkExpired:
        return _refuse(410, "This download link has expired: links from GetFileUploadURL are valid for 60 seconds. "
                            "Call GetFileUploadURL again for a new one.")
    except files.LinkTampered:
        return _refuse(403, "This download link is not valid.")
    uploaded = UploadedFile.objects.select_related("assignment__hit").filter(key=key).first()
    if uploaded is None or uploaded.assignment.hit.disposed_at is not None:
        return _refuse(410, "This file is no longer available.")
    path = files.absolute_path(uploaded)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError:
        return _refuse(410, "This file is no longer available.")
    response = FileResponse(
        handle, as_attachment=True, filename=files.download_name(uploaded),
        content_type=uploaded.content_type or "application/octet-stream",
    )
    # A worker's file is never rendered as part of Kempelen's origin, even if a browser is told to open it.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
