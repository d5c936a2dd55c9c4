"""The layout editor and the sandboxed previews, without a browser (the page must work without JavaScript)."""

import html

import pytest
from django.test import Client

from kempelen.marketplace.models import HITLayout
from kempelen.requester_site import gallery
from tests.conftest import make_requester
from tests.requester_site.conftest import signed_in
from tests.requester_site.projects.conftest import make_project
from tests.requester_site.templates_kit import CHECKBOXES, CLASSIC, CROWD

pytestmark = pytest.mark.django_db(transaction=True)

KEMPELEN_JS = "http://testserver/static/kempelen/externalHIT_v1.js"


def _assert_sandboxed(response):
    policy = response["Content-Security-Policy"]
    assert policy.startswith("sandbox allow-scripts allow-forms;")
    assert "allow-same-origin" not in policy and "frame-ancestors 'self'" in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Content-Type"] == "text/html; charset=utf-8"


def test_the_editor_shows_the_layout_its_variables_a_sample_input_each_and_a_sandboxed_preview():
    requester = make_requester().requester
    project = make_project(requester, sample_row={"product": "Kettle"}, frame_height=420)
    page = signed_in(requester).get(f"/requester/projects/{project.pk}/layout").content.decode()
    textarea = page.split('<textarea name="html"')[1].split(">", 1)[1].split("</textarea>")[0]
    assert html.unescape(textarea).strip("\n") == CLASSIC.html
    assert "The layout uses 2 variables:" in page
    assert '<label for="id_sample-product">product</label>' in page and 'value="Kettle"' in page
    assert 'id="id_sample-review_text"' in page
    assert '<iframe class="project-frame" id="preview-frame" name="preview-frame"' in page
    assert 'sandbox="allow-scripts allow-forms"' in page and 'height="420"' in page
    assert f"/requester/projects/{project.pk}/preview?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE" in page
    assert '<script src="/static/kempelen/project-editor.js" defer></script>' in page
    assert 'name="action" value="preview"' in page and 'name="action" value="save"' in page


def test_the_preview_is_the_layout_as_a_worker_previews_it_under_a_csp_sandbox():
    requester = make_requester().requester
    project = make_project(requester, sample_row={"product": 'Lamp "Nova"', "review_text": "<script>alert(1)</script> & more"})
    response = signed_in(requester).get(f"/requester/projects/{project.pk}/preview")
    _assert_sandboxed(response)
    body = response.content.decode()
    assert "<strong>Lamp &quot;Nova&quot;</strong>" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in body and "<script>alert(1)" not in body
    assert f'src="{KEMPELEN_JS}"' in body and "s3.amazonaws.com" not in body
    assert "${" not in body


def test_previewing_without_javascript_keeps_a_draft_and_saves_nothing():
    requester = make_requester().requester
    project = make_project(requester, sample_row={"product": "Kettle", "review_text": "Fine"})
    browser = signed_in(requester)
    draft = "<h1>${product}</h1><p>${colour}</p>"
    response = browser.post(f"/requester/projects/{project.pk}/layout", {
        "html": draft, "frame_height": "300", "sample-product": "Kettle", "sample-colour": "<red>",
        "action": "preview"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "The layout uses 2 variables:" in page and 'id="id_sample-colour"' in page
    assert 'id="id_sample-review_text"' not in page and 'height="300"' in page
    assert "not saved yet" in page
    src = html.unescape(page.split('name="preview-frame"')[1].split('src="')[1].split('"')[0])
    assert "draft=1" in src
    preview = browser.get(src)
    _assert_sandboxed(preview)
    assert preview.content.decode() == "<h1>Kettle</h1><p>&lt;red&gt;</p>"
    stored = HITLayout.objects.get(pk=project.pk)
    assert stored.html == CLASSIC.html and stored.sample_row == {"product": "Kettle", "review_text": "Fine"}
    # Without draft=1 the frame shows the saved layout again.
    assert "Kettle</strong>" in browser.get(f"/requester/projects/{project.pk}/preview").content.decode()


def test_the_live_preview_renders_what_is_posted_and_saves_nothing():
    requester = make_requester().requester
    project = make_project(requester)
    browser = signed_in(requester)
    response = browser.post(f"/requester/projects/{project.pk}/preview?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE",
                            {"html": CHECKBOXES.html, **{f"sample-{k}": v for k, v in CHECKBOXES.rows()[1].items()},
                             "sample-unknown": "ignored"})
    _assert_sandboxed(response)
    body = response.content.decode()
    assert 'src="https://images.example.org/photos/002.jpg?caption=&quot;park&quot;"' in body
    assert 'value="img-002"' in body and "ignored" not in body
    assert HITLayout.objects.get(pk=project.pk).html == CLASSIC.html


def test_the_live_preview_needs_the_csrf_token():
    requester = make_requester().requester
    project = make_project(requester)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(requester.user)
    response = browser.post(f"/requester/projects/{project.pk}/preview", {"html": "<p>hi</p>"})
    assert response.status_code == 403


def test_saving_the_layout_stores_html_height_and_sample_of_its_variables():
    requester = make_requester().requester
    project = make_project(requester)
    browser = signed_in(requester)
    browser.post(f"/requester/projects/{project.pk}/layout", {
        "html": CROWD.html, "frame_height": "0", "sample-headline": "x", "action": "preview"})
    response = browser.post(f"/requester/projects/{project.pk}/layout", {
        "html": CROWD.html, "frame_height": "640", "sample-headline": "Cup final", "sample-source": "Daily",
        "sample-product": "stale", "action": "save"})
    assert response.status_code == 302 and response["Location"] == f"/requester/projects/{project.pk}"
    stored = HITLayout.objects.get(pk=project.pk)
    assert (stored.html, stored.frame_height) == (CROWD.html, 640)
    assert stored.sample_row == {"headline": "Cup final", "source": "Daily"}
    assert "Layout saved." in browser.get(response["Location"]).content.decode()
    # The draft is gone: the frame's draft URL now shows the saved layout.
    draft = browser.get(f"/requester/projects/{project.pk}/preview?draft=1").content.decode()
    assert "<strong>Cup final</strong>" in draft


@pytest.mark.parametrize("data, message", [
    ({"html": "", "frame_height": "0"}, "The layout HTML is required"),
    ({"html": "<p>" + "x" * 70_000 + "</p>", "frame_height": "0"}, "at most 65,535 bytes"),
    ({"html": "<p>ok</p>", "frame_height": "-5"}, "greater than or equal to 0"),
    ({"html": "<p>\x0b</p>", "frame_height": "0"}, "U+000B"),
    ({"html": "<p>${a}</p>", "frame_height": "0", "sample-a": "x" * 70_000}, "at most 65,535 characters"),
])
@pytest.mark.parametrize("action", ["save", "preview"])
def test_a_bad_layout_gets_a_clear_message_and_changes_nothing(data, message, action):
    requester = make_requester().requester
    project = make_project(requester)
    browser = signed_in(requester)
    response = browser.post(f"/requester/projects/{project.pk}/layout", {**data, "action": action})
    page = response.content.decode()
    assert response.status_code == 200 and "There is a problem with what you entered" in page and message in page
    stored = HITLayout.objects.get(pk=project.pk)
    assert (stored.html, stored.frame_height) == (CLASSIC.html, 0)
    assert "draft=1" not in page


@pytest.mark.parametrize("template", gallery.TEMPLATES, ids=lambda t: t.slug)
def test_each_gallery_template_previews_filled_with_its_sample(template):
    browser = signed_in(make_requester().requester)
    response = browser.get(f"/requester/projects/gallery/{template.slug}/preview")
    _assert_sandboxed(response)
    body = response.content.decode()
    assert "${" not in body
    for value in template.sample_row.values():
        assert html.escape(value) in body
    assert f'src="{KEMPELEN_JS}"' in body and "turkSetAssignmentID()" in body


def test_an_unknown_gallery_template_is_not_found():
    assert signed_in(make_requester().requester).get("/requester/projects/gallery/nope/preview").status_code == 404
