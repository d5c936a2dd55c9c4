"""QuestionFormAnswers XML: written from form posts and QuestionForm submissions, read back by clients."""

from __future__ import annotations

import xml.dom.minidom
from xml.etree import ElementTree

import pytest
from django.http import QueryDict

from kempelen.core.errors import InvalidQuestion
from kempelen.questions.answer_key import parse_answer_key, score
from kempelen.questions.answers import (
    Answer,
    answers_as_mapping,
    answers_from_form_post,
    answers_from_question_form,
    answers_xml,
    empty_answers,
    other_selection_field,
    parse_answers,
)
from kempelen.questions.formats import QuestionForm, parse_question

from .samples import ANSWERS_NS, QUESTION_FORM, answer_key, free_text_question, question_form

HEADER = '<?xml version="1.0" encoding="ASCII"?>'


def minidom_answers(document: str) -> list[tuple[str, str]]:
    """What clients such as oTree and psiTurk do: parse with minidom, read identifier and FreeText positionally."""
    dom = xml.dom.minidom.parseString(document)
    pairs = []
    for answer in dom.getElementsByTagName("Answer"):
        identifier, value = answer.childNodes[0], answer.childNodes[1]
        pairs.append((text_of(identifier), text_of(value)))
    return pairs


def text_of(node: xml.dom.minidom.Node) -> str:
    return "".join(child.nodeValue or "" for child in node.childNodes)


def bird_form() -> QuestionForm:
    form = parse_question(QUESTION_FORM)
    assert isinstance(form, QuestionForm)
    return form


VALID_POST = {
    "zip": ["02139"],
    "species": ["robin"],
    "colours": ["red", "brown"],
    "count": ["3"],
    "comment": [""],
}


# --- form posts ---------------------------------------------------------------------------------------------------


def test_form_post_becomes_one_answer_per_field_in_posted_order():
    document = answers_from_form_post([("assignmentId", "3AB"), ("q1", "yes"), ("comment", "fine")])
    assert document.startswith(HEADER + "\n<QuestionFormAnswers xmlns=\"" + ANSWERS_NS + '">')
    assert minidom_answers(document) == [("q1", "yes"), ("comment", "fine")]


def test_reserved_fields_are_dropped_and_others_kept():
    fields = [("assignmentId", "A"), ("hitId", "H"), ("workerId", "W"), ("turkSubmitTo", "https://x"),
              ("doNotRedirect", "true"), ("answer", "42")]
    assert [answer.identifier for answer in parse_answers(answers_from_form_post(fields))] == ["doNotRedirect", "answer"]


def test_repeated_checkbox_names_are_joined_with_a_pipe_in_posted_order():
    fields = [("colour", "red"), ("size", "L"), ("colour", "green"), ("colour", "blue")]
    assert minidom_answers(answers_from_form_post(fields)) == [("colour", "red|green|blue"), ("size", "L")]


def test_crowd_form_task_answers_are_kept_as_the_posted_json():
    task_answers = '[{"sentiment":{"label":"Positive"},"note":"ok <3 & \\"quoted\\""}]'
    document = answers_from_form_post([("assignmentId", "A"), ("taskAnswers", task_answers)])
    assert minidom_answers(document) == [("taskAnswers", task_answers)]


def test_special_characters_and_emoji_survive_a_minidom_round_trip():
    value = 'a < b && c > "d" \'e\' ]]> café 😀 中文'
    document = answers_from_form_post([("q", value)])
    document.encode("ascii")  # the ASCII declaration is true
    assert "&#128512;" in document and "&lt;" in document and "&amp;&amp;" in document
    assert minidom_answers(document) == [("q", value)]
    assert parse_answers(document)[0].free_text == value


def test_field_names_with_special_characters_are_escaped_too():
    document = answers_from_form_post([('a<b>&"c"', "x")])
    assert minidom_answers(document) == [('a<b>&"c"', "x")]


def test_browser_line_breaks_become_newlines():
    document = answers_from_form_post([("comment", "line one\r\nline two\rthree")])
    assert parse_answers(document)[0].free_text == "line one\nline two\nthree"


def test_characters_xml_cannot_carry_are_removed_so_the_document_stays_well_formed():
    document = answers_from_form_post([("q", "bell\x07 null\x00 ok\ud800")])
    assert minidom_answers(document) == [("q", "bell null ok")]


def test_empty_values_are_kept_as_empty_free_text():
    assert minidom_answers(answers_from_form_post([("comment", "")]))[0][0] == "comment"
    assert parse_answers(answers_from_form_post([("comment", "")]))[0].free_text == ""


def test_fields_without_a_name_are_dropped():
    assert parse_answers(answers_from_form_post([("", "x"), ("q", "y")])) == [Answer("q", free_text="y")]


def test_empty_answers_is_a_well_formed_document_without_answers():
    document = empty_answers()
    assert document.startswith(HEADER)
    assert xml.dom.minidom.parseString(document).getElementsByTagName("Answer") == []
    assert parse_answers(document) == []


def test_child_order_is_identifier_then_value():
    document = answers_xml([Answer("q", selection_identifiers=("a", "b"), other_selection_text="mine")])
    answer = ElementTree.fromstring(document.split("\n", 1)[1])[0]
    assert [child.tag.split("}")[1] for child in answer] == [
        "QuestionIdentifier", "SelectionIdentifier", "SelectionIdentifier", "OtherSelectionText",
    ]


def test_answers_can_be_read_after_a_client_strips_the_declaration():
    document = answers_from_form_post([("q", "é")]).replace(HEADER, "")
    assert parse_answers(document) == [Answer("q", free_text="é")]


# --- QuestionForm submissions -----------------------------------------------------------------------------------


def test_valid_question_form_submission_has_no_errors_and_answers_every_question_in_order():
    document, errors = answers_from_question_form(bird_form(), VALID_POST)
    assert errors == {}
    assert parse_answers(document) == [
        Answer("zip", free_text="02139"),
        Answer("species", selection_identifiers=("robin",)),
        Answer("colours", selection_identifiers=("red", "brown")),
        Answer("count", free_text="3"),
        Answer("comment", free_text=""),
    ]


def test_a_django_query_dict_can_be_passed_directly():
    posted = QueryDict("zip=02139&species=robin&colours=red&colours=grey&count=7")
    document, errors = answers_from_question_form(bird_form(), posted)
    assert errors == {}
    assert answers_as_mapping(document)["colours"] == {"red", "grey"}


def test_required_questions_must_be_answered():
    _, errors = answers_from_question_form(bird_form(), {"colours": ["red", "brown"]})
    assert errors == {
        "zip": "This question requires an answer.",
        "species": "This question requires an answer.",
        "count": "This question requires an answer.",
    }


def test_the_requesters_error_text_is_shown_when_a_regex_fails():
    posted = {**VALID_POST, "zip": ["0213x"]}
    assert answers_from_question_form(bird_form(), posted)[1] == {"zip": "Enter exactly five digits."}


def test_length_constraint_is_enforced():
    posted = {**VALID_POST, "zip": ["021390"]}
    assert answers_from_question_form(bird_form(), posted)[1] == {"zip": "Enter at most 5 characters."}


@pytest.mark.parametrize(("value", "message"), [("0", "Enter a number from 1 to 20."), ("21", "Enter a number from 1 to 20."),
                                                ("three", "Enter a number from 1 to 20.")])
def test_numeric_constraint_is_enforced(value, message):
    posted = {**VALID_POST, "count": [value]}
    assert answers_from_question_form(bird_form(), posted)[1] == {"count": message}


def test_numbers_with_decimals_and_signs_are_numbers():
    answer = '<FreeTextAnswer><Constraints><IsNumeric minValue="-5"/></Constraints></FreeTextAnswer>'
    form = parse_question(question_form(free_text_question("n", answer)))
    assert answers_from_question_form(form, {"n": ["-4.5"]})[1] == {}  # type: ignore[arg-type]
    assert answers_from_question_form(form, {"n": ["-5.5"]})[1] == {"n": "Enter a number of at least -5."}  # type: ignore[arg-type]


def test_selection_count_limits_are_enforced():
    too_few = {**VALID_POST, "colours": ["red"]}
    too_many = {**VALID_POST, "colours": ["red", "brown", "grey", "blue"]}
    assert answers_from_question_form(bird_form(), too_few)[1] == {"colours": "Choose at least 2 options."}
    assert answers_from_question_form(bird_form(), too_many)[1] == {"colours": "Choose at most 3 options."}


def test_an_optional_selection_question_may_be_left_blank():
    posted = {key: value for key, value in VALID_POST.items() if key != "colours"}
    document, errors = answers_from_question_form(bird_form(), posted)
    assert errors == {}
    assert answers_as_mapping(document)["colours"] == set()


def test_selection_identifiers_must_be_offered_by_the_question():
    posted = {**VALID_POST, "species": ["eagle"]}
    assert answers_from_question_form(bird_form(), posted)[1] == {"species": "'eagle' is not one of this question's choices."}


def test_other_text_answers_a_selection_question_and_is_written_as_other_selection_text():
    posted = {**VALID_POST, "species": [], other_selection_field("species"): ["blackbird"]}
    document, errors = answers_from_question_form(bird_form(), posted)
    assert errors == {}
    assert parse_answers(document)[1] == Answer("species", other_selection_text="blackbird")


def test_other_text_counts_as_a_selection():
    posted = {**VALID_POST, "species": ["robin"], other_selection_field("species"): ["blackbird"]}
    assert answers_from_question_form(bird_form(), posted)[1] == {"species": "Choose at most 1 option."}


def test_other_text_must_meet_its_own_constraints():
    posted = {**VALID_POST, "species": [], other_selection_field("species"): ["ox"]}
    assert answers_from_question_form(bird_form(), posted)[1] == {"species": "Enter at least 3 characters."}


def test_other_text_is_refused_when_the_question_has_no_other_option():
    posted = {**VALID_POST, other_selection_field("colours"): ["purple"]}
    assert "does not accept an answer of your own" in answers_from_question_form(bird_form(), posted)[1]["colours"]


def test_free_text_question_takes_one_value():
    posted = {**VALID_POST, "count": ["3", "4"]}
    assert answers_from_question_form(bird_form(), posted)[1] == {"count": "This question takes a single answer."}


UPLOAD = "<FileUploadAnswer><MaxFileSizeInBytes>1000</MaxFileSizeInBytes><MinFileSizeInBytes>10</MinFileSizeInBytes></FileUploadAnswer>"


def test_file_upload_answer_records_size_and_key():
    form = parse_question(question_form(free_text_question("doc", UPLOAD, required=True)))
    document, errors = answers_from_question_form(form, {}, files={"doc": (500, "uploads/abc/report.pdf")})  # type: ignore[arg-type]
    assert errors == {}
    assert "<UploadedFileSizeInBytes>500</UploadedFileSizeInBytes><UploadedFileKey>uploads/abc/report.pdf</UploadedFileKey>" in document
    assert parse_answers(document) == [Answer("doc", uploaded_file_key="uploads/abc/report.pdf", uploaded_file_size=500)]


def test_file_upload_size_limits_and_requirement_are_enforced():
    form = parse_question(question_form(free_text_question("doc", UPLOAD, required=True)))
    assert answers_from_question_form(form, {}, files={"doc": (5, "k")})[1] == {"doc": "The file must be at least 10 bytes."}  # type: ignore[arg-type]
    assert answers_from_question_form(form, {}, files={"doc": (5000, "k")})[1] == {"doc": "The file must be at most 1,000 bytes."}  # type: ignore[arg-type]
    assert answers_from_question_form(form, {})[1] == {"doc": "This question requires an answer."}  # type: ignore[arg-type]


# --- reading answers ----------------------------------------------------------------------------------------------


def test_answers_as_mapping_gives_text_as_str_and_selections_as_sets():
    document, _ = answers_from_question_form(bird_form(), VALID_POST)
    assert answers_as_mapping(document) == {
        "zip": "02139", "species": {"robin"}, "colours": {"red", "brown"}, "count": "3", "comment": "",
    }


def test_answers_as_mapping_feeds_answer_key_scoring():
    document, _ = answers_from_question_form(bird_form(), VALID_POST)
    assert score(parse_answer_key(answer_key()), answers_as_mapping(document)) == 15


def test_parse_answers_reads_an_mturk_document():
    document = (
        '<?xml version="1.0" encoding="ASCII"?>\n'
        f'<QuestionFormAnswers xmlns="{ANSWERS_NS}">\n'
        "  <Answer><QuestionIdentifier>country</QuestionIdentifier><FreeText>United States</FreeText></Answer>\n"
        "  <Answer><QuestionIdentifier>pick</QuestionIdentifier><SelectionIdentifier>a</SelectionIdentifier>"
        "<SelectionIdentifier>c</SelectionIdentifier><OtherSelectionText>mine</OtherSelectionText></Answer>\n"
        "</QuestionFormAnswers>"
    )
    assert parse_answers(document) == [
        Answer("country", free_text="United States"),
        Answer("pick", selection_identifiers=("a", "c"), other_selection_text="mine"),
    ]


def test_parse_answers_refuses_other_documents():
    with pytest.raises(InvalidQuestion):
        parse_answers("<AnswerKey/>")
    with pytest.raises(InvalidQuestion):
        parse_answers(f'<QuestionFormAnswers xmlns="{ANSWERS_NS}"><Answer><Bogus/></Answer></QuestionFormAnswers>')


def test_answers_larger_than_the_question_limit_can_still_be_read():
    long_text = "x" * 100_000
    assert parse_answers(answers_from_form_post([("essay", long_text)]))[0].free_text == long_text
