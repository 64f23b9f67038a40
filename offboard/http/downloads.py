"""A file an export hands over, answered alike by the API and the console."""

from __future__ import annotations

from fastapi.responses import Response

from offboard.actions.exports import Export


def download(export: Export) -> Response:
    # Personal data: no shared or browser cache keeps a copy of the file.
    headers = {"Content-Disposition": export.content_disposition, "Cache-Control": "no-store"}
    return Response(export.content, media_type=export.media_type, headers=headers)
