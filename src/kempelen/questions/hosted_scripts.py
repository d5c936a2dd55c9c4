"""Amazon-hosted scripts that task HTML loads, answered by Kempelen's own copies so that tasks work offline.

Requesters' pages (HTMLQuestion and HIT layouts) load MTurk's helpers from Amazon: ``externalHIT_v1.js`` from S3
and the Crowd HTML Elements from ``assets.crowd.aws``. Before task content is served, every such URL in the HTML
is replaced by the absolute URL of Kempelen's static copy, so the page never contacts Amazon. The match is on the
URL text wherever it appears (a ``<script src>``, or a script that writes the tag); anything after it, such as a
query string, is kept. This module is the one place that knows these URLs.
"""

from __future__ import annotations

import re

from django.templatetags.static import static

#: Amazon's URL (as a pattern) and the static file of Kempelen's that answers it.
HOSTED_SCRIPTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"https?://(?:s3\.amazonaws\.com|mturk-public\.s3\.amazonaws\.com)/(?:mturk-public/)?externalHIT_v1\.js"),
     "kempelen/externalHIT_v1.js"),
    # crowd-html-elements-v2.js (Ground Truth's newer elements) is a different library and is left alone.
    (re.compile(r"(?:https?:)?//assets\.crowd\.aws/crowd-html-elements(?:-without-ce-polyfill)?\.js", re.IGNORECASE),
     "kempelen/crowd-html-elements.js"),
)


def kempelen_script_url(base_url: str, path: str) -> str:
    """The absolute URL of one of Kempelen's static scripts, for pages served from another origin."""
    return base_url.rstrip("/") + static(path)


def use_kempelen_scripts(html: str, base_url: str) -> str:
    """``html`` with every Amazon-hosted script URL replaced by Kempelen's copy under ``base_url``."""
    for pattern, path in HOSTED_SCRIPTS:
        # Escaped so that the URL is inserted as it is (sub() would read backslashes in it as escapes).
        html = pattern.sub(kempelen_script_url(base_url, path).replace("\\", "\\\\"), html)
    return html
