"""Helpers for the Crowd HTML Elements browser tests: a template, an image, and mouse gestures inside the task frame."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

from kempelen.questions.answers import parse_answers

#: The text of the entity-annotation widget: an emoji before "London" makes code points and UTF-16 units differ.
ENTITY_TEXT = "Ada Lovelace met Charles Babbage in 1833 \U0001F600 in London."
IMAGE_WIDTH, IMAGE_HEIGHT = 800, 600


def png_data_url(width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> str:
    """A small PNG (identical rows of a grey ramp compress to almost nothing) as a data: URL."""
    row = b"\x00" + b"".join(bytes([x * 255 // width] * 3) for x in range(width))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(row * height, 9)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


#: A current MTurk-style template: Amazon's loader, <crowd-form>, and the common elements.
TEMPLATE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Photo review</title>
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script></head>
<body>
<!-- You must include crowd-form so that your task submits answers to MTurk -->
<crowd-form>
  <crowd-classifier name="sentiment" categories="['Positive', 'Negative', 'Neutral']" header="How does the caption feel?">
    <classification-target><p>What a dreary, grey morning walk.</p></classification-target>
    <short-instructions>Choose the feeling of the caption.</short-instructions>
    <full-instructions header="Sentiment guide"><p>Negative: sadness, anger, gloom.</p></full-instructions>
  </crowd-classifier>

  <crowd-input name="description" label="Describe the photo" required></crowd-input>

  <p>Which qualities does the photo have?</p>
  <crowd-checkbox name="qualities" value="sharp">Sharp</crowd-checkbox>
  <crowd-checkbox name="qualities" value="dark">Too dark</crowd-checkbox>

  <p>Where was it taken?</p>
  <crowd-radio-group>
    <crowd-radio-button name="outdoors" value="outdoors">Outdoors</crowd-radio-button>
    <crowd-radio-button name="indoors" value="indoors">Indoors</crowd-radio-button>
  </crowd-radio-group>

  <crowd-bounding-box name="animals" src="{png_data_url()}" header="Draw a box around each animal"
    labels="['Cat', 'Dog']" style="max-width: 400px"></crowd-bounding-box>

  <crowd-entity-annotation name="entities" header="Label the people and places" text="{ENTITY_TEXT}"
    labels="[{{'label': 'person', 'shortDisplayName': 'per', 'fullDisplayName': 'Person'}},
             {{'label': 'place', 'shortDisplayName': 'pla', 'fullDisplayName': 'Place'}}]"></crowd-entity-annotation>
</crowd-form>
</body></html>"""

#: A small template whose crowd-form posts one field per leaf.
FLATTEN_TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form answer-format="flatten-objects">
  <crowd-classifier name="sentiment" categories="['Positive', 'Negative']" header="How does it feel?">
    <classification-target>Lovely.</classification-target>
  </crowd-classifier>
  <crowd-checkbox name="sure">I am sure</crowd-checkbox>
  <crowd-input name="word" label="One word"></crowd-input>
</crowd-form>"""


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def text_span_points(page: Any, region: Any, substring: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Page coordinates just inside the first and the last character of ``substring`` in ``region`` (in a frame)."""
    inside = region.evaluate("""(el, wanted) => {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode())) {
            const at = node.data.indexOf(wanted);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + wanted.length);
            const r = range.getBoundingClientRect(), box = el.getBoundingClientRect();
            return {left: r.left - box.left, right: r.right - box.left, middle: (r.top + r.bottom) / 2 - box.top};
        }
        return null;
    }""", substring)
    assert inside is not None, f"{substring!r} is not in the text"
    box = region.bounding_box()
    y = box["y"] + inside["middle"]
    return (box["x"] + inside["left"] + 1, y), (box["x"] + inside["right"] - 1, y)


def task_answers(client: Any, hit_id: str) -> tuple[dict[str, Any], list[str]]:
    """The submitted assignment's taskAnswers object, and the QuestionIdentifiers of its answer."""
    [assignment] = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    answers = parse_answers(assignment["Answer"])
    identifiers = [answer.identifier for answer in answers]
    by_name = {answer.identifier: answer.free_text for answer in answers}
    posted = json.loads(by_name.get("taskAnswers") or "[{}]")
    assert isinstance(posted, list) and len(posted) == 1
    return posted[0], identifiers
