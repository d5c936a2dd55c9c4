"""The bulk steps of publishing and changing batches: a project's template compiled once for many rows, HIT rows
inserted many at a time, and the notification events of many HITs queued at once.

These exist for speed (a batch has up to a million rows); each produces exactly what the one-at-a-time path
produces: ``LayoutRenderer.question`` equals ``layout_as_html_question(render_layout(html, row), frame_height)``,
an inserted HIT equals one saved through the ORM, and an event equals one queued by
``notifications.actions.emit``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from html import escape

from django.db import connection

from kempelen.core import clock
from kempelen.core.errors import InvalidParameter
from kempelen.questions.layouts import PLACEHOLDER, layout_as_html_question, layout_variables
from kempelen.questions.xmlutil import MAX_DOCUMENT_BYTES, first_invalid_xml_char

from ..models import HIT

_BODY = "KEMPELEN-LAYOUT-BODY"
_CDATA_END = "]]>"
_CDATA_SPLIT = "]]]]><![CDATA[>"


class LayoutRenderer:
    """A template compiled for rows whose values come in ``columns`` order (a batch file's header).

    The template is split once at its placeholders; a row's question is then the literal parts joined with the
    row's HTML-escaped values, wrapped as ``layout_as_html_question`` wraps it.
    """

    def __init__(self, html: str, frame_height: int, columns: Sequence[str]) -> None:
        variables = layout_variables(html)
        if sorted(variables) != sorted(columns) or len(set(columns)) != len(columns):
            raise InvalidParameter(
                "The project's template uses the variables " + ", ".join(variables or ["(none)"])
                + "; the file's columns are " + ", ".join(columns) + "."
            )
        # The wrapper, and the template's own characters and frame height, checked by the layouts module itself.
        layout_as_html_question(PLACEHOLDER.sub("", html), frame_height)
        self.prefix, self.suffix = layout_as_html_question(_BODY, frame_height).split(_BODY)
        parts = PLACEHOLDER.split(html)
        self.literals: list[str] = parts[0::2]
        position = {name: i for i, name in enumerate(columns)}
        self.slots: list[int] = [position[name] for name in parts[1::2]]
        self.columns = list(columns)
        self._fixed_bytes = len(self.prefix.encode()) + len(self.suffix.encode()) + sum(
            len(literal.encode()) for literal in self.literals
        )

    def question(self, values: Sequence[str]) -> str:
        """The HIT's question XML for one row (values in ``columns`` order). Raises InvalidParameter when a value
        holds a character XML cannot carry, or the question would exceed MTurk's 65,535 bytes."""
        joined = "".join(values)
        bad = first_invalid_xml_char(joined)
        if bad is not None:
            column = next(name for name, value in zip(self.columns, values, strict=True) if bad in value)
            raise InvalidParameter(
                f"the value of {column!r} contains the character U+{ord(bad):04X}, which a HIT cannot carry; "
                "remove it."
            )
        escaped = [escape(value, quote=True) for value in values]
        literals = self.literals
        pieces = [literals[0]]
        for i, slot in enumerate(self.slots, start=1):
            pieces.append(escaped[slot])
            pieces.append(literals[i])
        html = "".join(pieces)
        if _CDATA_END in html:
            html = html.replace(_CDATA_END, _CDATA_SPLIT)
        xml = self.prefix + html + self.suffix
        # Four bytes per character at most: only long questions need counting.
        if len(xml) * 4 > MAX_DOCUMENT_BYTES:
            size = len(xml.encode())
            if size > MAX_DOCUMENT_BYTES:
                raise InvalidParameter(
                    f"the HIT's question for this row would be {size:,} bytes; at most {MAX_DOCUMENT_BYTES:,} are "
                    "allowed. Shorten the row's values or the template."
                )
        return xml

    def problem(self, values: Sequence[str]) -> str | None:
        """What stops this row becoming a HIT, or None."""
        try:
            self.question(values)
        except InvalidParameter as error:
            return error.message
        return None


# --- Ids -----------------------------------------------------------------------------------------------------


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Each random byte becomes one base-36 digit (bytes 252-255 repeat 0-3: a bias too small to matter for ids).
_DIGIT = bytes(ord(_ALPHABET[i % 36]) for i in range(256))


def _base36(n: int, width: int) -> str:
    digits = []
    for _ in range(width):
        n, r = divmod(n, 36)
        digits.append(_ALPHABET[r])
    return "".join(reversed(digits))


def entity_ids(count: int) -> list[str]:
    """``count`` new ids shaped like ``core.ids.entity_id``'s (30 base-36 digits), in increasing order.

    Each is the time in milliseconds (9 digits), its place among these ``count`` (4 digits) and 17 random digits
    (about 88 bits, one random byte each). Ids that follow each other land next to each other in the primary-key
    index, so inserting a chunk of HITs touches a few index pages instead of one page per HIT.
    """
    stamp = _base36(int(clock.system_now().timestamp() * 1000), 9)
    randomness = os.urandom(17 * count).translate(_DIGIT).decode("ascii")
    return [stamp + _base36(i, 4) + randomness[17 * i:17 * i + 17] for i in range(count)]


# --- Inserting HITs --------------------------------------------------------------------------------------------


def insert_hits(prototype: HIT, rows: Iterable[tuple[str, dict, str, int]]) -> int:
    """Insert HITs equal to ``prototype`` except for (id, layout_parameters, question, batch_row).

    Column values are prepared by the model's own fields (once for the shared ones), so a HIT inserted here is
    stored exactly as ``save()`` would store it. PostgreSQL gets them through COPY, other databases through one
    prepared INSERT run for every row.
    """
    fields = HIT._meta.concrete_fields
    shared = [field.get_db_prep_save(getattr(prototype, field.attname), connection) for field in fields]
    position = {field.attname: i for i, field in enumerate(fields)}
    at_id, at_params, at_question, at_row = (position[name] for name in ("id", "layout_parameters", "question",
                                                                         "batch_row"))
    # What JSONField.get_db_prep_save does for a dict, without its per-value dispatch.
    params_field = HIT._meta.get_field("layout_parameters")
    adapt_json = connection.ops.adapt_json_value
    records = []
    for hit_id, params, question, row in rows:
        record = shared.copy()
        record[at_id] = hit_id
        record[at_params] = adapt_json(params, params_field.encoder)
        record[at_question] = question
        record[at_row] = row
        records.append(record)
    quote = connection.ops.quote_name
    table = quote(HIT._meta.db_table)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for record in records:
                    copy.write_row(record)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", records)
    return len(records)


# --- Events ----------------------------------------------------------------------------------------------------


from kempelen.notifications.actions import emit_each, wants  # noqa: E402,F401 (used as _batch_rows.emit_each/wants)
