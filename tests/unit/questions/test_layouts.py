"""HIT layouts: ${name} placeholders, escaping, and wrapping as an HTMLQuestion."""

from __future__ import annotations

import pytest

from kempelen.core.errors import InvalidParameter
from kempelen.questions.formats import HTMLQuestion, parse_question
from kempelen.questions.layouts import layout_as_html_question, layout_variables, render_layout

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form answer-format="flatten-objects">
  <p>Is this review positive? ${review_text}</p>
  <img src="${image_url}" alt="${review_text}">
  <crowd-classifier name="sentiment" categories="['Positive', 'Negative']" header="${review_text}"></crowd-classifier>
  <p>Price: $5, cost ${ price }, literal $ {x} and ${2bad}</p>
</crowd-form>"""


def test_variables_are_listed_once_in_order_of_first_appearance():
    assert layout_variables(TEMPLATE) == ["review_text", "image_url"]


def test_spaced_and_digit_led_placeholders_are_not_variables():
    assert layout_variables("${ x } ${1x} ${x-y} ${_ok} ${A9}") == ["_ok", "A9"]


def test_rendering_substitutes_every_occurrence():
    html = render_layout(TEMPLATE, {"review_text": "Great", "image_url": "https://img.example/1.jpg"})
    assert html.count("Great") == 3
    assert 'src="https://img.example/1.jpg"' in html
    assert "${ price }" in html and "${2bad}" in html


def test_values_are_html_escaped_so_they_cannot_inject_markup():
    html = render_layout(TEMPLATE, {"review_text": '<script>alert("x")</script>', "image_url": 'a" onerror="steal()'})
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'src="a&quot; onerror=&quot;steal()"' in html


def test_single_quotes_and_ampersands_are_escaped():
    assert render_layout("<a title='${t}'>", {"t": "Tom's & Jerry's"}) == "<a title='Tom&#x27;s &amp; Jerry&#x27;s'>"


def test_a_value_that_looks_like_a_placeholder_is_not_substituted_again():
    assert render_layout("${a} ${b}", {"a": "${b}", "b": "B"}) == "${b} B"


def test_a_missing_parameter_is_refused_by_name():
    with pytest.raises(InvalidParameter) as caught:
        render_layout(TEMPLATE, {"review_text": "Great"})
    assert "'image_url' is missing" in str(caught.value)


def test_an_unknown_parameter_is_refused_by_name():
    with pytest.raises(InvalidParameter) as caught:
        render_layout(TEMPLATE, {"review_text": "Great", "image_url": "u", "price": "5"})
    assert "'price' does not appear in the layout" in str(caught.value)
    assert "review_text, image_url" in str(caught.value)


def test_a_template_without_variables_takes_no_parameters():
    assert render_layout("<p>Static</p>", {}) == "<p>Static</p>"
    with pytest.raises(InvalidParameter):
        render_layout("<p>Static</p>", {"x": "1"})


def test_rendered_layout_becomes_a_parseable_html_question():
    html = render_layout(TEMPLATE, {"review_text": "Great", "image_url": "https://img.example/1.jpg"})
    question = parse_question(layout_as_html_question(html, frame_height=600))
    assert question == HTMLQuestion(html_content=html, frame_height=600)


def test_cdata_terminators_inside_the_html_survive_wrapping():
    html = "<script>if (a[b[0]]>1) { x = ']]>'; }</script>"
    question = parse_question(layout_as_html_question(html))
    assert isinstance(question, HTMLQuestion) and question.html_content == html and question.frame_height == 0


def test_a_layout_too_big_for_a_question_is_caught_when_parsed():
    wrapped = layout_as_html_question("<p>" + "x" * 70_000 + "</p>")
    with pytest.raises(InvalidParameter) as caught:
        parse_question(wrapped)
    assert "65,535 bytes" in str(caught.value)


def test_frame_height_must_be_a_non_negative_integer():
    with pytest.raises(InvalidParameter):
        layout_as_html_question("<p>x</p>", frame_height=-1)


def test_characters_xml_cannot_carry_are_refused():
    with pytest.raises(InvalidParameter) as caught:
        layout_as_html_question("<p>\x01</p>")
    assert "U+0001" in str(caught.value)
