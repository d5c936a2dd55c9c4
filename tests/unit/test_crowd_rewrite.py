"""Amazon's Crowd HTML Elements script in task HTML is answered by Kempelen's copy, like externalHIT_v1.js."""

from __future__ import annotations

import urllib.request

import pytest
from django.test import Client

from kempelen.core import clock, ids
from kempelen.marketplace.models import HITLayout
from kempelen.questions.hosted_scripts import use_kempelen_scripts
from kempelen.worker_site.views_task import content_token

BASE = "https://kempelen.example.org"
OURS = f"{BASE}/static/kempelen/crowd-html-elements.js"
HTML_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
CROWD_PAGE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form><crowd-input name="word" label="A word" required></crowd-input></crowd-form>"""


@pytest.mark.parametrize("url", [
    "https://assets.crowd.aws/crowd-html-elements.js",
    "http://assets.crowd.aws/crowd-html-elements.js",
    "//assets.crowd.aws/crowd-html-elements.js",
    "https://ASSETS.crowd.aws/crowd-html-elements.js",
    "https://assets.crowd.aws/crowd-html-elements-without-ce-polyfill.js",
])
def test_every_spelling_of_amazons_crowd_script_is_replaced_by_kempelens(url):
    html = f'<script src="{url}"></script><crowd-form></crowd-form>'
    assert use_kempelen_scripts(html, BASE) == f'<script src="{OURS}"></script><crowd-form></crowd-form>'


def test_externalhit_v1_is_still_replaced_alongside_the_crowd_script():
    html = ('<script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script>'
            "<script src='https://assets.crowd.aws/crowd-html-elements.js'></script>")
    rewritten = use_kempelen_scripts(html, BASE + "/")
    assert rewritten == (f'<script src="{BASE}/static/kempelen/externalHIT_v1.js"></script>'
                         f"<script src='{OURS}'></script>")


def test_a_query_string_after_the_script_url_is_kept():
    html = '<script src="https://assets.crowd.aws/crowd-html-elements.js?v=3"></script>'
    assert use_kempelen_scripts(html, BASE) == f'<script src="{OURS}?v=3"></script>'


def test_a_url_written_by_a_script_is_replaced_too():
    html = """<script>var s = document.createElement('script'); s.src = "https://assets.crowd.aws/crowd-html-elements.js";</script>"""
    assert OURS in use_kempelen_scripts(html, BASE)


@pytest.mark.parametrize("html", [
    '<script src="https://assets.crowd.aws/crowd-html-elements-v2.js"></script>',
    '<img src="https://assets.crowd.aws/images/logo.png">',
    '<script src="https://example.org/assets.crowd.aws/crowd-html-elements.json"></script>',
    "<p>No scripts here: crowd-html-elements.js is only a name.</p>",
])
def test_other_urls_and_text_are_left_alone(html):
    assert use_kempelen_scripts(html, BASE) == html


def test_a_base_url_with_backslashes_or_group_references_is_inserted_literally():
    odd = "https://host.example/\\1\\g<0>"
    rewritten = use_kempelen_scripts('<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>', odd)
    assert rewritten == f'<script src="{odd}/static/kempelen/crowd-html-elements.js"></script>'


# --- Served task content --------------------------------------------------------------------------------------------


def _html_question(html: str) -> str:
    return f'<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><![CDATA[{html}]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>'


def _content(hit_id: str) -> str:
    response = Client().get(f"/task-content/{content_token(hit_id, None)}")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_task_content_of_an_html_question_loads_kempelens_crowd_script(api):
    client = api().client()
    hit = client.create_hit(Title="Say a word", Description="One word", Reward="0.10", LifetimeInSeconds=600,
                            AssignmentDurationInSeconds=300, MaxAssignments=1, Question=_html_question(CROWD_PAGE))["HIT"]
    body = _content(hit["HITId"])
    assert "assets.crowd.aws" not in body
    assert '<script src="http://testserver/static/kempelen/crowd-html-elements.js"></script>' in body
    assert "<crowd-input name=\"word\"" in body


@pytest.mark.django_db(transaction=True)
def test_task_content_of_a_hit_layout_loads_kempelens_crowd_script(api):
    handle = api()
    layout = HITLayout.objects.create(
        id=ids.entity_id(), requester=handle.requester, environment="live", name="Words",
        html=CROWD_PAGE.replace("A word", "A word for ${thing}"), frame_height=400, created_at=clock.now(),
    )
    hit = handle.client().create_hit(
        Title="Say a word", Description="One word", Reward="0.10", LifetimeInSeconds=600,
        AssignmentDurationInSeconds=300, MaxAssignments=1, HITLayoutId=layout.pk,
        HITLayoutParameters=[{"Name": "thing", "Value": "rain"}],
    )["HIT"]
    body = _content(hit["HITId"])
    assert "assets.crowd.aws" not in body
    assert "/static/kempelen/crowd-html-elements.js" in body
    assert 'label="A word for rain"' in body


@pytest.mark.django_db(transaction=True)
def test_kempelens_crowd_script_is_a_served_static_file(live_server):
    with urllib.request.urlopen(live_server.url + "/static/kempelen/crowd-html-elements.js") as response:
        assert response.status == 200
        assert "javascript" in response.headers["Content-Type"]
        source = response.read().decode()
    assert "customElements.define(name, ELEMENTS[name])" in source
