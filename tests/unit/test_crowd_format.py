"""What crowd-form posts: attribute literals, taskAnswers JSON, flatten-objects fields and Unicode offsets.

The browser script (``crowd-html-elements.js``, run here under Node) and ``questions/crowd_format.py`` (used by
synthetic workers) must agree, so both run on the same inputs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import kempelen.questions
from kempelen.questions.crowd_format import flatten_answers, parse_loose, string_list, task_answers_json

SCRIPT = Path(kempelen.questions.__file__).parent / "static" / "kempelen" / "crowd-html-elements.js"
NODE = shutil.which("node")


@pytest.fixture
def node() -> str:
    assert NODE, "these tests run the task script under Node.js, which every supported machine has"
    return NODE


needs_node = pytest.mark.usefixtures("node")

HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
const [path, calls] = JSON.parse(process.argv[1]);
const sandbox = {console};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(path, "utf8"), sandbox);
const out = calls.map(([name, args]) => {
  try { return {value: sandbox.KempelenCrowd[name](...args)}; } catch (error) { return {error: error.name}; }
});
console.log(JSON.stringify(out));
"""

LITERALS = [
    "['Cat', 'Dog', 'Bird', 'None of the Above']",
    '["good", "bad"]',
    "{ text: 'None of the above' }",
    "[{'label': 'person', 'shortDisplayName': 'per', 'fullDisplayName': 'Person'}, {label: \"date\"}]",
    "[\n  {\n    label: 'person',\n    startOffset: 0,\n    endOffset: 16,\n  },\n]",
    "[{label: 'Left Eye', x: 1022, y: -4.5e1}, // the beak next\n {label: 'Beak', x: 941, y: 403} /* done */]",
    "{'it\\'s': \"say \\\"hi\\\"\\n\", flag: true, none: null, gone: undefined}",
    "[1, , 2,]",
]


def run_js(*calls: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    assert NODE is not None
    done = subprocess.run([NODE, "-e", HARNESS, json.dumps([str(SCRIPT), [list(call) for call in calls]])],
                          capture_output=True, text=True, timeout=30, check=True)
    return list(json.loads(done.stdout))


def test_attribute_literals_as_templates_write_them_are_read():
    assert parse_loose("['Cat', 'Dog']") == ["Cat", "Dog"]
    assert parse_loose("{ text: 'None of the above' }") == {"text": "None of the above"}
    assert parse_loose(LITERALS[4]) == [{"label": "person", "startOffset": 0, "endOffset": 16}]
    assert parse_loose(LITERALS[5]) == [{"label": "Left Eye", "x": 1022, "y": -45.0}, {"label": "Beak", "x": 941, "y": 403}]
    assert parse_loose(LITERALS[6]) == {"it's": 'say "hi"\n', "flag": True, "none": None, "gone": None}


@pytest.mark.parametrize("text", ["[1, 2", "{a 1}", "['open]", "alert(1)", "[1] extra", "{a: b}"])
def test_malformed_literals_are_refused_not_guessed(text):
    with pytest.raises(ValueError):
        parse_loose(text)


def test_list_attributes_give_the_label_of_object_items_and_fall_back_to_commas():
    assert string_list(LITERALS[3]) == ["person", "date"]
    assert string_list("Cat, Dog ,Bird") == ["Cat", "Dog", "Bird"]
    assert string_list("") == [] and string_list(None) == []
    assert string_list("[1, 2.5, true]") == ["1", "2.5", "true"]


def test_task_answers_is_one_object_in_an_array_with_sorted_keys_and_no_spaces():
    answers = {"sentiment": {"label": "Positive"}, "attrs": {"dim": True, "blurry": False}, "note": "çà va\nbien"}
    assert task_answers_json(answers) == (
        '[{"attrs":{"blurry":false,"dim":true},"note":"çà va\\nbien","sentiment":{"label":"Positive"}}]'
    )


def test_flatten_objects_posts_one_field_per_leaf_with_arrays_as_json():
    answers = {
        "annotatedResult": {"boundingBoxes": [{"width": 5, "label": "Dog", "left": 1, "top": 2, "height": 3}],
                            "inputImageProperties": {"height": 533, "width": 800}},
        "sentiment": {"label": "Positive"},
        "found": {"on": True},
        "score": 7,
        "ratio": 0.5,
        "essay": "two\nlines",
        "empty": {},
    }
    assert flatten_answers(answers) == [
        ("annotatedResult.boundingBoxes", '[{"height":3,"label":"Dog","left":1,"top":2,"width":5}]'),
        ("annotatedResult.inputImageProperties.height", "533"),
        ("annotatedResult.inputImageProperties.width", "800"),
        ("essay", "two\nlines"),
        ("found.on", "true"),
        ("ratio", "0.5"),
        ("score", "7"),
        ("sentiment.label", "Positive"),
    ]


@needs_node
def test_the_browser_script_reads_literals_as_python_does():
    results = run_js(*[("parseLoose", [text]) for text in LITERALS], ("parseLoose", ["{a 1}"]),
                     *[("stringList", [text]) for text in LITERALS[:4]], ("stringList", ["Cat, Dog ,Bird"]))
    parsed = [result["value"] for result in results[:len(LITERALS)]]
    assert parsed == [parse_loose(text) for text in LITERALS]
    assert results[len(LITERALS)] == {"error": "SyntaxError"}
    lists = [result["value"] for result in results[len(LITERALS) + 1:]]
    assert lists == [string_list(text) for text in [*LITERALS[:4], "Cat, Dog ,Bird"]]


@needs_node
def test_the_browser_script_writes_task_answers_and_flattened_fields_as_python_does():
    answers = {"z": {"b": [{"y": 1, "x": "é"}], "a": False}, "m": "text", "n": 12, "o": {"on": True}}
    json_result, flat_result = run_js(("stableStringify", [[answers]]), ("flattenAnswers", [answers]))
    assert json_result["value"] == task_answers_json(answers)
    assert [tuple(pair) for pair in flat_result["value"]] == flatten_answers(answers)


@needs_node
def test_entity_offsets_count_code_points_not_utf16_units():
    text = "I 😀 Paris, 🇫🇷."
    start16 = len("I 😀 ".encode("utf-16-le")) // 2  # JavaScript indexes strings in UTF-16 units: 😀 is two
    end16 = start16 + len("Paris")
    start_cp, end_cp, back = run_js(("codePointOffset", [text, start16]), ("codePointOffset", [text, end16]),
                                    ("utf16Index", [text, text.index("Paris")]))
    assert (start_cp["value"], end_cp["value"]) == (text.index("Paris"), text.index("Paris") + 5)
    assert back["value"] == start16
