"""Synthetic workers' answers: plausible, and accepted by the form's own validation."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kempelen.questions.answers import answers_from_form_post, answers_from_question_form, parse_answers
from kempelen.questions.formats import (
    ExternalQuestion,
    FreeTextAnswer,
    HTMLQuestion,
    LengthConstraint,
    NumericConstraint,
    Question,
    QuestionForm,
    RegexConstraint,
    Selection,
    SelectionAnswer,
    Text,
    parse_question,
)
from kempelen.questions.simulation import synthetic_answers

from .samples import FORM_NS, HTML_QUESTION, QUESTION_FORM

RICH_FORM = """
<form id="mturk_form" method="post">
  <input type="hidden" name="assignmentId" id="assignmentId" value="">
  <input type="hidden" name="batch" value="b-17">
  <input type="text" name="title" maxlength="4">
  <input type="number" name="age" min="18" max="25">
  <input type="radio" name="mood" value="happy"> <input type="radio" name="mood" value="sad">
  <input type="checkbox" name="tags" value="cat"><input type="checkbox" name="tags" value="dog">
  <input type="checkbox" name="tags" value="bird">
  <select name="country"><option value="">Choose...</option><option value="FR">France</option><option>Peru</option></select>
  <textarea name="notes"></textarea>
  <input type="email" name="contact">
  <input type="text" name="locked" disabled>
  <script>document.write('<input name="fake">');</script>
  <input type="submit" id="submitButton" name="go" value="Submit">
</form>
"""

CROWD_FORM = """
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-classifier name="sentiment" categories="['Positive', 'Negative', 'Neutral']" header="How?"></crowd-classifier>
  <crowd-input name="reason" label="Why?"></crowd-input>
  <crowd-radio-group>
    <crowd-radio-button name="yes" value="yes">Yes</crowd-radio-button>
    <crowd-radio-button name="no" value="no">No</crowd-radio-button>
  </crowd-radio-group>
  <crowd-slider name="confidence" min="1" max="5"></crowd-slider>
</crowd-form>
"""


def test_external_question_gets_a_single_simulated_field():
    question = ExternalQuestion("https://a.example/", 0)
    assert synthetic_answers(question, random.Random(1)) == [("answer", "simulated")]


def test_aws_sample_html_question_gets_its_textarea_filled_and_no_reserved_fields():
    question = parse_question(HTML_QUESTION)
    assert isinstance(question, HTMLQuestion)
    pairs = synthetic_answers(question, random.Random(1))
    assert [name for name, _ in pairs] == ["comment"]
    assert pairs[0][1].strip()


def test_every_kind_of_native_field_gets_a_plausible_value():
    for seed in range(30):
        pairs = synthetic_answers(RICH_FORM, random.Random(seed))
        values: dict[str, list[str]] = {}
        for name, value in pairs:
            values.setdefault(name, []).append(value)
        assert set(values) == {"batch", "title", "age", "mood", "tags", "country", "notes", "contact"}
        assert values["batch"] == ["b-17"]
        assert len(values["title"][0]) <= 4
        assert 18 <= int(values["age"][0]) <= 25
        assert values["mood"] in (["happy"], ["sad"])
        assert values["tags"] and set(values["tags"]) <= {"cat", "dog", "bird"}
        assert values["tags"] == sorted(values["tags"], key=["cat", "dog", "bird"].index)
        assert values["country"] in (["FR"], ["Peru"])
        assert values["contact"] == ["worker@example.com"]


def test_repeated_checkbox_pairs_become_one_pipe_joined_answer():
    rng = random.Random(4)
    pairs = synthetic_answers(RICH_FORM, rng)
    tags = [value for name, value in pairs if name == "tags"]
    answers = {answer.identifier: answer.free_text for answer in parse_answers(answers_from_form_post(pairs))}
    assert answers["tags"] == "|".join(tags)


def test_crowd_form_posts_one_task_answers_json_array():
    for seed in range(20):
        pairs = synthetic_answers(CROWD_FORM, random.Random(seed))
        assert [name for name, _ in pairs] == ["taskAnswers"]
        (answers,) = json.loads(pairs[0][1])
        assert answers["sentiment"]["label"] in {"Positive", "Negative", "Neutral"}
        assert isinstance(answers["reason"], str) and answers["reason"]
        assert [answers["yes"]["yes"], answers["no"]["no"]].count(True) == 1
        assert 1 <= answers["confidence"] <= 5


def test_a_page_without_visible_fields_gets_the_fallback_answer():
    assert synthetic_answers("<p>All fields are built by JavaScript.</p>", random.Random(0)) == [("answer", "simulated")]


def test_the_same_seed_gives_the_same_answers():
    form = parse_question(QUESTION_FORM)
    assert synthetic_answers(form, random.Random(7)) == synthetic_answers(form, random.Random(7))  # type: ignore[arg-type]
    assert synthetic_answers(RICH_FORM, random.Random(7)) == synthetic_answers(RICH_FORM, random.Random(7))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_synthetic_answers_to_the_sample_question_form_pass_its_validation(seed):
    form = parse_question(QUESTION_FORM)
    assert isinstance(form, QuestionForm)
    posted = synthetic_answers(form, random.Random(seed))
    _, errors = answers_from_question_form(form, posted)
    assert errors == {}


def free_text_specs() -> st.SearchStrategy[FreeTextAnswer]:
    numeric = st.tuples(st.integers(-1000, 1000), st.integers(0, 500)).map(
        lambda pair: NumericConstraint(pair[0], pair[0] + pair[1])
    )
    length = st.tuples(st.integers(0, 40), st.integers(0, 40)).map(
        lambda pair: LengthConstraint(pair[0], max(pair[0] + pair[1], 1))
    )
    return st.one_of(
        st.builds(FreeTextAnswer, numeric=numeric),
        st.builds(FreeTextAnswer, length=length),
        st.just(FreeTextAnswer(regexes=(RegexConstraint(r"^\d{4}-\d{2}-\d{2}$"),))),
        st.just(FreeTextAnswer(regexes=(RegexConstraint(r"\S", "Please write something"),))),
        st.just(FreeTextAnswer()),
    )


@st.composite
def selection_specs(draw: st.DrawFn) -> SelectionAnswer:
    count = draw(st.integers(1, 6))
    selections = tuple(Selection(f"s{index}", f"Choice {index}") for index in range(count))
    other = draw(st.one_of(st.none(), free_text_specs()))
    offered = count + (1 if other is not None else 0)
    minimum = draw(st.integers(0, offered))
    maximum = draw(st.integers(max(minimum, 1), offered + 2))
    return SelectionAnswer(selections, minimum, maximum, other_selection=other)


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(st.one_of(free_text_specs(), selection_specs()), min_size=1, max_size=6),
    required=st.lists(st.booleans(), min_size=6, max_size=6),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_synthetic_answers_satisfy_any_satisfiable_question_form(specs, required, seed):
    questions = tuple(
        Question(f"q{index}", None, required[index], (Text("?"),), spec) for index, spec in enumerate(specs)
    )
    form = QuestionForm(FORM_NS, questions)
    _, errors = answers_from_question_form(form, synthetic_answers(form, random.Random(seed)))
    assert errors == {}


def test_free_text_whose_regex_no_candidate_meets_is_left_to_the_caller():
    impossible = FreeTextAnswer(regexes=(RegexConstraint(r"^ZQX-\d{9}-[a-f]{7}$"),))
    form = QuestionForm(FORM_NS, (
        Question("code", None, True, (Text("?"),), impossible),
        Question("name", None, True, (Text("?"),), FreeTextAnswer()),
    ))
    assert set(synthetic_answers(form, random.Random(0))) == {"name"}
