"""Log records with the request id on them, written as one JSON object per line or as plain text.

``KEMPELEN_LOG_FORMAT=json`` (the default of ``kempelen serve``) writes each record as one JSON object: ``time``,
``level``, ``logger``, ``message``, ``request_id`` (null outside a request), ``pid``, any fields passed with
``extra=`` (the access log's ``method``, ``route``, ``status``, ``duration_ms``, and for API calls
``operation``, ``outcome``, ``environment`` and ``customer_id``), and ``exception`` with the traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from . import context

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is written out.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime", "request_id"}
)


class RequestContextFilter(logging.Filter):
    """Puts the current request's id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            current = context.current()
            record.request_id = current.request_id if current is not None else None
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "pid": record.process,
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger message [request id]``, for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [request {request_id}]" if request_id else line
