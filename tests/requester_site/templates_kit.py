"""Real MTurk-style project templates, with matching input CSV text, for the requester site's tests.

Each ``Kit`` is a layout as requesters bring it from MTurk's requester site, the variables it uses (in order of
first appearance), the answer fields a worker's submission carries, and a CSV whose header names exactly those
variables. The CSV rows include values that must be escaped when substituted (``<``, ``&``, quotes), commas
and line breaks inside quoted cells, and non-ASCII text.

- ``CLASSIC``: Amazon's ``externalHIT_v1.js``, a plain ``mturk_form`` posted to MTurk's externalSubmit,
  ``turkSetAssignmentID()``; one radio group and a free-text field.
- ``CHECKBOXES``: a plain form (no externalHIT_v1.js) whose checkboxes share one name, so a submission carries
  several values for it; plus a select and a hidden field.
- ``CROWD``: Crowd HTML Elements: ``crowd-form`` with ``crowd-classifier`` and ``crowd-input``; a submission
  is one ``taskAnswers`` field holding ``[{…}]`` JSON.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class Kit:
    name: str
    html: str
    variables: tuple[str, ...]
    answer_fields: tuple[str, ...]
    csv_text: str

    def rows(self) -> list[dict[str, str]]:
        """The CSV's data rows as dicts (header → value)."""
        return list(csv.DictReader(io.StringIO(self.csv_text)))

    def parameters(self, row: int = 0) -> list[dict[str, str]]:
        """Row ``row`` as the API's HITLayoutParameters."""
        return [{"Name": name, "Value": value} for name, value in self.rows()[row].items()]


CLASSIC = Kit(
    name="classic externalHIT_v1.js form",
    html="""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>
<script type="text/javascript" src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script>
</head>
<body>
<form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">
<input type="hidden" value="" name="assignmentId" id="assignmentId"/>
<h1>Is this review positive?</h1>
<p>Product: <strong>${product}</strong></p>
<blockquote id="review">${review_text}</blockquote>
<fieldset>
  <legend>Sentiment of the review of ${product}</legend>
  <label><input type="radio" name="sentiment" value="positive" required> Positive</label>
  <label><input type="radio" name="sentiment" value="negative"> Negative</label>
</fieldset>
<p><label for="comment">Comment (optional)</label> <input type="text" name="comment" id="comment"></p>
<p><input type="submit" id="submitButton" value="Submit"></p>
</form>
<script language="Javascript">turkSetAssignmentID();</script>
</body>
</html>""",
    variables=("product", "review_text"),
    answer_fields=("sentiment", "comment"),
    csv_text=(
        "product,review_text\r\n"
        'Kettle,"Boils fast, <b>loud</b> though & the lid sticks"\r\n'
        '"Lamp ""Nova""","Lovely light.\nWould buy again — 5/5 ★"\r\n'
        "Chair,'single' quotes and ${product} stay literal\r\n"
    ),
)

CHECKBOXES = Kit(
    name="plain form with checkboxes sharing a name",
    html="""<!DOCTYPE html>
<html>
<body>
<form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">
<input type="hidden" value="" name="assignmentId" id="assignmentId"/>
<input type="hidden" name="image_id" value="${image_id}"/>
<p><img src="${image_url}" alt="Photo ${image_id}" width="320"></p>
<p>Which of these appear in the photo? Tick all that apply.</p>
<label><input type="checkbox" name="objects" value="person"> Person</label>
<label><input type="checkbox" name="objects" value="car"> Car</label>
<label><input type="checkbox" name="objects" value="dog"> Dog</label>
<label><input type="checkbox" name="objects" value="tree"> Tree</label>
<p><label for="quality">Image quality</label>
<select name="quality" id="quality"><option value="good">Good</option><option value="poor">Poor</option></select></p>
<p><input type="submit" id="submitButton" value="Submit"></p>
</form>
</body>
</html>""",
    variables=("image_id", "image_url"),
    answer_fields=("image_id", "objects", "quality"),
    csv_text=(
        "image_id,image_url\n"
        "img-001,https://images.example.org/photos/001.jpg?size=m&crop=1\n"
        'img-002,"https://images.example.org/photos/002.jpg?caption=""park"""\n'
    ),
)

CROWD = Kit(
    name="crowd-form with crowd-classifier and crowd-input",
    html="""<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>

<!-- You must include crowd-form so that your task submits answers to MTurk -->
<crowd-form answer-format="flatten-objects">
  <crowd-classifier
    name="category"
    categories="['Sports', 'Politics', 'Technology', 'Other']"
    header="Which topic best fits this headline?"
  >
    <classification-target>
      <p><strong>${headline}</strong></p>
      <p>Source: ${source}</p>
    </classification-target>
    <full-instructions header="Topic classification">
      <p>Choose the topic the headline is mostly about.</p>
    </full-instructions>
    <short-instructions>
      <p>Pick one topic.</p>
    </short-instructions>
  </crowd-classifier>
  <crowd-input name="keywords" label="Two or three keywords" required></crowd-input>
</crowd-form>""",
    variables=("headline", "source"),
    answer_fields=("taskAnswers",),
    csv_text=(
        "headline,source\n"
        '"Local team wins the cup, fans celebrate",Daily <News>\n'
        "New chip doubles battery life,Tech & Science Weekly\n"
        '"Parliament votes on the ""green"" budget",Zeitung für Politik\n'
    ),
)

KITS = (CLASSIC, CHECKBOXES, CROWD)
