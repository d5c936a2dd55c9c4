"""The starter gallery: project templates that work out of the box, offline.

Each template is an HTML file next to this module, written the way classic MTurk templates were: a plain
``mturk_form`` posted to MTurk's externalSubmit, a hidden ``assignmentId`` input, Amazon's ``externalHIT_v1.js``
and ``turkSetAssignmentID()``. Kempelen serves its own externalHIT_v1.js and rewrites both URLs, so the
templates need no internet. Styles are inline in each template: it runs in a sandboxed frame, not under
Kempelen's own Content-Security-Policy. Sample media are ``data:`` URLs, so previews need no network either.
"""

from __future__ import annotations

import base64
import io
import math
import wave
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from kempelen.marketplace.actions.layouts import ProjectProperties

_HERE = Path(__file__).resolve().parent
_MINUTE, _HOUR, _DAY = 60, 3600, 86400


@dataclass(frozen=True)
class GalleryTemplate:
    slug: str
    name: str
    description: str
    filename: str
    properties: ProjectProperties
    sample_row: dict[str, str] = field(default_factory=dict)
    frame_height: int = 0

    @property
    def html(self) -> str:
        return _read(self.filename)


@cache
def _read(filename: str) -> str:
    return (_HERE / filename).read_text(encoding="utf-8")


def _apple_svg() -> str:
    """A small drawing of an apple, as a data: URL (the image template's sample)."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='320' height='240' viewBox='0 0 320 240'>"
        "<rect width='320' height='240' fill='#eef6ff'/>"
        "<ellipse cx='160' cy='218' rx='84' ry='10' fill='#c9d6e3'/>"
        "<path d='M160 72c-30-22-92-12-92 56 0 50 40 88 62 88 12 0 18-6 30-6s18 6 30 6c22 0 62-38 62-88 "
        "0-68-62-78-92-56z' fill='#d62d20'/>"
        "<path d='M160 74c0-20 6-34 18-44' stroke='#5b3a1e' stroke-width='6' fill='none' stroke-linecap='round'/>"
        "<path d='M172 52c18-22 44-20 52-14-10 18-34 24-52 14z' fill='#3a9d23'/>"
        "</svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _tone_wav() -> str:
    """Three short beeps (a test clip: 8 kHz, 8-bit mono, under a second), as a data: URL."""
    rate, samples = 8000, bytearray()
    for n in range(int(rate * 0.9)):
        t = n / rate
        on = (t % 0.3) < 0.18
        samples.append(128 + int(90 * math.sin(2 * math.pi * 660 * t)) if on else 128)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(bytes(samples))
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()


BLANK = GalleryTemplate(
    slug="blank",
    name="Blank project",
    description="A minimal form with one text answer, to build your own layout on.",
    filename="blank.html",
    properties=ProjectProperties(),
)

TEMPLATES: tuple[GalleryTemplate, ...] = (
    GalleryTemplate(
        slug="sentiment",
        name="Sentiment of a sentence",
        description="Workers read a sentence and choose positive, neutral, negative or mixed.",
        filename="sentiment.html",
        properties=ProjectProperties(
            title="Choose the sentiment of a sentence",
            description="Read one sentence and say whether it is positive, neutral, negative or mixed.",
            keywords="sentiment, text, classification, quick",
            reward_cents=5, max_assignments=3, assignment_duration=5 * _MINUTE, lifetime=3 * _DAY,
            auto_approval_delay=3 * _DAY,
        ),
        sample_row={"text": "The delivery was two days late, but the support team sorted everything out "
                            "within an hour."},
    ),
    GalleryTemplate(
        slug="image-category",
        name="Categorise an image",
        description="Workers look at an image and choose its category (animal, food, vehicle…).",
        filename="image-category.html",
        properties=ProjectProperties(
            title="Choose the category of an image",
            description="Look at one image and choose the category that best describes what it shows.",
            keywords="image, categorization, classification, label, quick",
            reward_cents=5, max_assignments=3, assignment_duration=5 * _MINUTE, lifetime=3 * _DAY,
            auto_approval_delay=3 * _DAY,
        ),
        sample_row={"image_url": _apple_svg()},
    ),
    GalleryTemplate(
        slug="audio-transcription",
        name="Transcribe an audio clip",
        description="Workers listen to a short recording and type what they hear.",
        filename="audio-transcription.html",
        properties=ProjectProperties(
            title="Transcribe a short audio clip",
            description="Listen to a short recording (under a minute) and type exactly what you hear.",
            keywords="audio, transcription, speech, typing",
            reward_cents=25, max_assignments=1, assignment_duration=15 * _MINUTE, lifetime=3 * _DAY,
            auto_approval_delay=3 * _DAY,
        ),
        sample_row={"audio_url": _tone_wav()},
    ),
    GalleryTemplate(
        slug="free-text",
        name="Collect a free-text answer",
        description="Workers answer an open question in a few sentences of their own.",
        filename="free-text.html",
        properties=ProjectProperties(
            title="Answer a question in a few sentences",
            description="Read a question and answer it in two to five sentences, in your own words.",
            keywords="writing, opinion, text, question",
            reward_cents=20, max_assignments=1, assignment_duration=10 * _MINUTE, lifetime=3 * _DAY,
            auto_approval_delay=3 * _DAY,
        ),
        sample_row={"question": "What makes a first day at a new job go well?"},
    ),
    GalleryTemplate(
        slug="survey-link",
        name="Survey link with a completion code",
        description="Workers take a survey on another site and paste the completion code it shows at the end.",
        filename="survey-link.html",
        properties=ProjectProperties(
            title="Take a short survey (about 10 minutes)",
            description="Answer a survey on another site, then enter the completion code it gives you.",
            keywords="survey, research, questionnaire",
            reward_cents=150, max_assignments=9, assignment_duration=60 * _MINUTE, lifetime=7 * _DAY,
            auto_approval_delay=3 * _DAY,
        ),
        sample_row={"survey_url": "https://survey.example.org/start?study=demo"},
    ),
)

_BY_SLUG = {t.slug: t for t in (BLANK, *TEMPLATES)}


def get(slug: str) -> GalleryTemplate | None:
    """A template by its slug ("blank" included), or None."""
    return _BY_SLUG.get(slug)
