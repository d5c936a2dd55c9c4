"""The starter gallery: classic MTurk templates that pass the API's rules, fill every variable from their sample
row, and post the answers a requester expects."""

import random

import pytest

from kempelen.marketplace.actions.layouts import check_layout, check_properties
from kempelen.questions.layouts import layout_variables, render_layout
from kempelen.questions.simulation import html_form_answers
from kempelen.requester_site import gallery

pytestmark = pytest.mark.django_db

ANSWERS = {
    "sentiment": {"sentiment"},
    "image-category": {"category", "other"},
    "audio-transcription": {"transcript", "unclear"},
    "free-text": {"answer"},
    "survey-link": {"surveycode"},
}


def test_the_gallery_has_the_five_starter_templates_and_a_blank_page():
    assert [t.slug for t in gallery.TEMPLATES] == list(ANSWERS)
    assert gallery.get("blank") is gallery.BLANK and gallery.get("nope") is None
    assert layout_variables(gallery.BLANK.html) == []


@pytest.mark.parametrize("template", [*gallery.TEMPLATES, gallery.BLANK], ids=lambda t: t.slug)
def test_each_template_is_a_classic_mturk_form_that_works_offline(template):
    source = template.html
    assert '<form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">' in source
    assert '<input type="hidden" value="" name="assignmentId" id="assignmentId">' in source
    assert '<script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script>' in source
    assert "<script>turkSetAssignmentID();</script>" in source and 'id="submitButton"' in source
    assert '<html lang="en">' in source and '<meta name="viewport"' in source
    # Nothing else is fetched from the network: no stylesheets, fonts or images from other sites.
    assert source.count("https://") == 2  # the script and the form's action, both answered by Kempelen
    check_layout(source, template.frame_height)


@pytest.mark.parametrize("template", gallery.TEMPLATES, ids=lambda t: t.slug)
def test_each_templates_sample_row_fills_every_variable_and_its_properties_pass_the_apis_rules(template):
    assert set(template.sample_row) == set(layout_variables(template.html))
    rendered = render_layout(template.html, template.sample_row)
    assert "${" not in rendered
    for value in template.sample_row.values():
        assert value.startswith(("data:", "https://")) or value in rendered
    check_properties(template.properties, "sandbox")
    check_properties(template.properties, "live")


@pytest.mark.parametrize("template", gallery.TEMPLATES, ids=lambda t: t.slug)
def test_each_template_posts_the_answers_its_results_are_read_by(template):
    answers = html_form_answers(render_layout(template.html, template.sample_row), random.Random(7))
    assert {name for name, _ in answers} <= ANSWERS[template.slug]
    assert ANSWERS[template.slug] & {name for name, _ in answers}


@pytest.mark.parametrize("template", gallery.TEMPLATES, ids=lambda t: t.slug)
def test_every_field_a_worker_fills_has_a_label(template):
    source = template.html
    for name in ANSWERS[template.slug]:
        assert f'name="{name}"' in source
    ids = {chunk.split('"')[0] for chunk in source.split(' id="')[1:]}
    labelled = {chunk.split('"')[0] for chunk in source.split(' for="')[1:]}
    inputs = [chunk for chunk in source.split("<input")[1:] if 'type="hidden"' not in chunk.split(">")[0]
              and 'type="submit"' not in chunk.split(">")[0]]
    for tag in inputs + source.split("<textarea")[1:]:
        field_id = tag.split(' id="')[1].split('"')[0]
        assert field_id in ids and field_id in labelled, field_id
