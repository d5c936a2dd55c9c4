"""The layout editor in a real browser (headless Chromium): live variables, sample row and preview, and a
preview that cannot act as the requester."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from kempelen.marketplace.models import HITLayout
from tests.conftest import make_requester
from tests.requester_site.projects.conftest import make_project
from tests.requester_site.templates_kit import CLASSIC

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: A layout that, in the preview, tries to use the requester's session: read the project list, archive a
#: project, reach the editor page around it. It writes what it got into the page for the test to read.
HOSTILE = """<!DOCTYPE html><html><body><h1>${title}</h1><pre id="out">running</pre><script>
(async function () {
  var out = {origin: String(window.origin)};
  try { out.parent = parent.document.title; } catch (e) { out.parent = "blocked"; }
  try { out.cookie = document.cookie; } catch (e) { out.cookie = "blocked"; }
  try {
    var r = await fetch("/requester/projects", {credentials: "include"});
    var text = await r.text();
    out.list = text.indexOf("__PROJECT__") >= 0 ? "read" : "not read";
  } catch (e) { out.list = "blocked"; }
  try {
    await fetch("/requester/projects/__ID__/archive", {method: "POST", credentials: "include", mode: "no-cors"});
    out.archive = "sent";
  } catch (e) { out.archive = "blocked"; }
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script></body></html>"""


def test_the_editor_finds_variables_and_previews_as_the_requester_types(page, sign_in_requester):
    requester = make_requester().requester
    project = make_project(requester, sample_row={"product": "Kettle", "review_text": "Boils fast"})
    sign_in_requester(requester)
    page.goto(f"/requester/projects/{project.pk}/layout")
    preview = page.frame_locator("#preview-frame")
    expect(preview.locator("strong")).to_have_text("Kettle")
    # Before accepting, Kempelen's externalHIT_v1.js disables submitting, as in a worker's preview.
    expect(preview.locator("#submitButton")).to_be_disabled()
    expect(page.locator("#layout-editor")).to_have_attribute("data-live", "on")

    page.get_by_label("Layout HTML").fill("<p id='greeting'>${greeting}, ${name}!</p><p>${product}</p>")
    expect(page.locator("#variable-list code")).to_have_text(["greeting", "name", "product"])
    expect(page.locator("#variable-summary")).to_have_text("The layout uses 3 variables:")
    expect(page.get_by_label("product", exact=True)).to_have_value("Kettle")
    expect(page.locator("#id_sample-review_text")).to_have_count(0)
    page.get_by_label("greeting", exact=True).fill("<b>Hello</b>")
    page.get_by_label("name", exact=True).fill("Ada & Bob")
    expect(preview.locator("#greeting")).to_have_text("<b>Hello</b>, Ada & Bob!")
    expect(preview.locator("#greeting b")).to_have_count(0)

    # A removed variable's sample comes back when the variable does.
    page.get_by_label("Layout HTML").fill("<p>${review_text}</p>")
    expect(page.get_by_label("review_text", exact=True)).to_have_value("Boils fast")
    page.get_by_label("Layout HTML").fill("<p id='p'>${product}</p>")
    expect(page.get_by_label("product", exact=True)).to_have_value("Kettle")
    expect(preview.locator("#p")).to_have_text("Kettle")
    assert HITLayout.objects.get(pk=project.pk).html == CLASSIC.html  # previewing saved nothing

    page.get_by_role("button", name="Save layout").click()
    expect(page.get_by_role("status")).to_contain_text("Layout saved.")
    stored = HITLayout.objects.get(pk=project.pk)
    assert (stored.html, stored.sample_row) == ("<p id='p'>${product}</p>", {"product": "Kettle"})
    expect(page.frame_locator("#preview-frame").locator("#p")).to_have_text("Kettle")


def test_a_previewed_layout_cannot_act_as_the_requester(page, sign_in_requester):
    requester = make_requester().requester
    project = make_project(requester, name="Secret project name")
    hostile = HOSTILE.replace("__PROJECT__", "Secret project name").replace("__ID__", project.pk)
    sign_in_requester(requester)
    page.goto(f"/requester/projects/{project.pk}/layout")
    page.get_by_label("Layout HTML").fill(hostile)
    page.get_by_label("title", exact=True).fill("Harmless title")
    out = page.frame_locator("#preview-frame").locator("#out")
    expect(out).to_contain_text('"archive"', timeout=15_000)
    found = json.loads(out.text_content() or "{}")
    assert found["origin"] == "null"
    assert found["parent"] == "blocked"
    assert found["cookie"] in ("", "blocked")
    assert found["list"] != "read"
    project.refresh_from_db()
    assert project.archived_at is None and project.html == CLASSIC.html
    # Kempelen's own page, in the same browser, does read the list: the walls are what stopped the script.
    assert "Secret project name" in page.evaluate("fetch('/requester/projects').then(r => r.text())")
