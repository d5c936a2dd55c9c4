"""Synthetic workers answer Crowd HTML Elements pages in the shapes Kempelen's elements post."""

from __future__ import annotations

import json
import random
from typing import Any

from kempelen.questions.answers import answers_from_form_post, parse_answers
from kempelen.questions.simulation import synthetic_answers

TEXT = "Ada Lovelace met Charles Babbage in 1833 😀 in London."
PAGE = f"""
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-instructions link-text="How to"><short-summary>Be quick.</short-summary></crowd-instructions>
  <crowd-classifier name="sentiment" categories="['Positive', 'Negative']" header="How?">
    <classification-target>Great stuff.</classification-target>
  </crowd-classifier>
  <crowd-classifier-multi-select name="topics" categories='["tech", "art"]' header="Topics"></crowd-classifier-multi-select>
  <crowd-image-classifier name="animal" src="a.png" categories="['Cat', 'Dog']" header="Animal?"></crowd-image-classifier>
  <crowd-input name="word" label="A word" max-length="6"></crowd-input>
  <crowd-text-area name="essay"></crowd-text-area>
  <crowd-checkbox name="attrs" value="blurry">Blurry</crowd-checkbox>
  <crowd-checkbox name="attrs" value="dim">Dim</crowd-checkbox>
  <crowd-checkbox name="agree" required>I agree</crowd-checkbox>
  <crowd-toggle-button name="flag"></crowd-toggle-button>
  <crowd-radio-group>
    <crowd-radio-button name="yes" value="yes">Yes</crowd-radio-button>
    <crowd-radio-button name="no" value="no">No</crowd-radio-button>
  </crowd-radio-group>
  <crowd-radio-button name="size" value="S">S</crowd-radio-button>
  <crowd-radio-button name="size" value="L">L</crowd-radio-button>
  <crowd-slider name="score" min="2" max="10" step="2"></crowd-slider>
  <crowd-bounding-box name="boxes" src="a.png" labels="['Cat', 'Dog']"></crowd-bounding-box>
  <crowd-keypoint name="points" src="a.png" labels="['Eye', 'Beak']"></crowd-keypoint>
  <crowd-entity-annotation name="people" text="{TEXT}"
    labels="[{{'label': 'person', 'shortDisplayName': 'per'}}, {{label: 'place'}}]"></crowd-entity-annotation>
  <crowd-input name="off" disabled></crowd-input>
  <crowd-button name="not-an-answer">Help</crowd-button>
  <input type="radio" name="native-radio" value="a"><input type="radio" name="native-radio" value="b">
  <select name="pick"><option value="">Choose</option><option>x</option></select>
  <select name="many" multiple><option>p</option><option>q</option></select>
  <input type="hidden" name="empty-hidden" value="">
</crowd-form>"""


def _answers(seed: int, page: str = PAGE) -> dict[str, Any]:
    pairs = synthetic_answers(page, random.Random(seed))
    assert [name for name, _ in pairs] == ["taskAnswers"]
    (answers,) = json.loads(pairs[0][1])
    return dict(answers)


def test_every_element_answers_in_its_own_shape():
    for seed in range(25):
        answers = _answers(seed)
        assert set(answers) == {"sentiment", "topics", "animal", "word", "essay", "attrs", "agree", "flag", "yes", "no",
                                "size", "score", "boxes", "points", "people", "native-radio", "pick", "many"}
        assert answers["sentiment"]["label"] in {"Positive", "Negative"}
        assert answers["topics"]["labels"] and set(answers["topics"]["labels"]) <= {"tech", "art"}
        assert set(answers["animal"]) == {"label"}
        assert isinstance(answers["word"], str) and 0 < len(answers["word"]) <= 6
        assert set(answers["attrs"]) == {"blurry", "dim"} and all(isinstance(v, bool) for v in answers["attrs"].values())
        assert answers["agree"] == {"on": True}
        assert set(answers["flag"]) == {"on"}
        assert answers["score"] in {2, 4, 6, 8, 10}
        assert answers["pick"] == "x" and answers["many"] and set(answers["many"]) <= {"p", "q"}


def test_radio_buttons_are_exclusive_within_a_group_and_among_same_name_buttons():
    for seed in range(25):
        answers = _answers(seed)
        assert [answers["yes"]["yes"], answers["no"]["no"]].count(True) == 1
        assert set(answers["size"]) == {"S", "L"} and list(answers["size"].values()).count(True) == 1
        assert list(answers["native-radio"].values()).count(True) == 1


def test_image_and_text_annotations_have_the_documented_keys_and_sensible_values():
    for seed in range(25):
        answers = _answers(seed)
        boxes = answers["boxes"]
        assert set(boxes) == {"boundingBoxes", "inputImageProperties"}
        size = boxes["inputImageProperties"]
        (box,) = boxes["boundingBoxes"]
        assert list(box) == ["height", "label", "left", "top", "width"] and box["label"] in {"Cat", "Dog"}
        assert box["left"] + box["width"] <= size["width"] and box["top"] + box["height"] <= size["height"]
        points = answers["points"]
        assert list(points) == ["inputImageProperties", "keypoints"]
        assert [point["label"] for point in points["keypoints"]] == ["Eye", "Beak"]
        (entity,) = answers["people"]["entities"]
        assert list(entity) == ["endOffset", "label", "startOffset"] and entity["label"] in {"person", "place"}
        span = TEXT[entity["startOffset"]:entity["endOffset"]]  # code point offsets, as Python indexes
        assert span.isalnum()


def test_flatten_objects_pages_post_one_field_per_leaf():
    page = PAGE.replace("<crowd-form>", '<crowd-form answer-format="flatten-objects">')
    names = [name for name, _ in synthetic_answers(page, random.Random(3))]
    assert "taskAnswers" not in names
    assert {"sentiment.label", "attrs.blurry", "attrs.dim", "boxes.boundingBoxes", "boxes.inputImageProperties.width",
            "people.entities", "word"} <= set(names)
    assert names == sorted(names)


def test_a_simulated_crowd_answer_is_stored_as_one_task_answers_answer():
    pairs = synthetic_answers(PAGE, random.Random(5))
    stored = parse_answers(answers_from_form_post([("assignmentId", "A1"), *pairs]))
    assert [answer.identifier for answer in stored] == ["taskAnswers"]
    assert json.loads(stored[0].free_text or "")[0]["sentiment"]["label"] in {"Positive", "Negative"}


def test_an_entity_annotation_alone_still_posts_task_answers():
    page = f'<crowd-entity-annotation name="e" text="{TEXT}" labels="[\'person\']"></crowd-entity-annotation>'
    answers = _answers(1, page)
    assert answers["e"]["entities"][0]["label"] == "person"
