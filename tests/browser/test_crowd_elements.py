"""A worker does a Crowd HTML Elements task in a real browser; the requester reads taskAnswers through boto3.

The template loads Amazon's ``crowd-html-elements.js``; Kempelen answers that URL with its own elements, so the
task works offline. The worker uses the mouse and the keyboard as people do: shortcuts and arrow keys for
choices, a drag on the image for a box, a drag over the text and Shift + arrow keys for entities.
"""

import re

import pytest
from playwright.sync_api import expect

from kempelen.marketplace.models import Assignment
from tests.browser.conftest import create_hit, html_question
from tests.browser.crowd_kit import (
    ENTITY_TEXT,
    FLATTEN_TEMPLATE,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    TEMPLATE,
    drag,
    task_answers,
    text_span_points,
)
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PREVIEW_NOTICE = "You must ACCEPT the HIT before you can submit the results."


def _open_group(page, client, hit_id):
    group = client.get_hit(HITId=hit_id)["HIT"]["HITGroupId"]
    page.goto(f"/worker/projects/{group}/tasks")


def _accept(page):
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))
    return page.frame_locator("iframe.task")


def test_a_worker_fills_a_crowd_form_with_keyboard_and_mouse_and_the_requester_gets_task_answers(api, page, sign_in):
    client = api().client()
    hit_id = create_hit(client, html_question(TEMPLATE, frame_height=2600), title="Review a photo")
    worker = make_worker()
    sign_in(worker)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    _open_group(page, client, hit_id)
    task = _accept(page)

    # The classifier: a digit shortcut, then an arrow key.
    task.get_by_role("radio", name="Positive").focus()
    page.keyboard.press("3")
    expect(task.get_by_role("radio", name="Neutral")).to_be_checked()
    page.keyboard.press("ArrowUp")
    expect(task.get_by_role("radio", name="Negative")).to_be_checked()

    # Two check boxes with one name: the mouse ticks one.
    task.get_by_role("checkbox", name="Sharp").click()

    # The radio group, by keyboard: Space chooses, the arrow key moves the choice.
    task.get_by_role("radio", name="Outdoors").focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    expect(task.get_by_role("radio", name="Indoors")).to_be_checked()
    expect(task.get_by_role("radio", name="Outdoors")).not_to_be_checked()

    # The bounding box: drag on the image (shown at half its size), relabel and nudge it by keyboard; a second box
    # added from the keyboard is deleted again.
    image = task.locator("crowd-bounding-box").get_by_role("img", name="Draw a box around each animal")
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    assert round(box["width"]) == IMAGE_WIDTH // 2
    drag(page, (box["x"] + 50, box["y"] + 40), (box["x"] + 150, box["y"] + 115))
    shape = task.get_by_role("button", name=re.compile(r"^Box 1: Cat"))
    expect(shape).to_be_focused()
    page.keyboard.press("2")
    page.keyboard.press("ArrowRight")
    expect(task.get_by_role("button", name=re.compile(r"^Box 1: Dog"))).to_be_focused()
    task.get_by_role("button", name="Add a box").focus()
    page.keyboard.press("Enter")
    expect(task.get_by_role("button", name=re.compile(r"^Box 2: Dog"))).to_be_focused()
    page.keyboard.press("Delete")
    expect(task.get_by_role("button", name=re.compile(r"^Box 2"))).to_have_count(0)
    expect(task.get_by_role("list", name="Boxes").get_by_role("listitem")).to_have_count(1)

    # The entity annotation: drag over a name with the mouse; select a place with Shift + arrow keys.
    region = task.locator(".crowd-entity-text")
    region.scroll_into_view_if_needed()
    drag(page, *text_span_points(page, region, "Charles Babbage"))
    labelled = task.get_by_role("list", name="Labelled text")
    expect(labelled).to_contain_text("Charles Babbage")
    region.evaluate("""(el, wanted) => {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode())) {
            const at = node.data.indexOf(wanted);
            if (at >= 0) { el.focus(); document.getSelection().collapse(node, at); return; }
        }
    }""", "London")
    for _ in range(len("London")):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("2")
    expect(labelled.get_by_role("listitem")).to_have_count(2)

    # The required text field is still empty: submitting is refused with a message, nothing is sent.
    task.get_by_role("button", name="Submit").click()
    errors = task.get_by_role("alert")
    expect(errors).to_contain_text("One answer needs your attention")
    expect(errors).to_contain_text("Describe the photo")
    expect(task.get_by_label("Describe the photo")).to_be_focused()
    assert Assignment.objects.get().status == "Accepted"

    page.keyboard.type("A fox in the snow")
    task.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/submitted$"))

    assert not [url for url in requested if "amazonaws.com" in url or "crowd.aws" in url or "mturk.com" in url]
    assert any(url.endswith("/static/kempelen/crowd-html-elements.js") for url in requested)
    answers, identifiers = task_answers(client, hit_id)
    assert identifiers == ["taskAnswers"]
    [drawn] = answers["animals"]["boundingBoxes"]
    # The drag was 100 by 75 screen pixels at half size, starting 50, 40 into the image; one pixel right after.
    assert list(drawn) == ["height", "label", "left", "top", "width"]
    for key, expected in {"left": 101, "top": 80, "width": 200, "height": 150}.items():
        assert abs(drawn[key] - expected) <= 2, (key, drawn)
    london = ENTITY_TEXT.index("London")  # Python counts code points, like the answer's offsets
    assert answers == {
        "animals": {"boundingBoxes": [{**drawn, "label": "Dog"}],
                    "inputImageProperties": {"height": IMAGE_HEIGHT, "width": IMAGE_WIDTH}},
        "description": "A fox in the snow",
        "entities": {"entities": [
            {"endOffset": 32, "label": "person", "startOffset": 17},
            {"endOffset": london + len("London"), "label": "place", "startOffset": london},
        ]},
        "indoors": {"indoors": True},
        "outdoors": {"outdoors": False},
        "qualities": {"dark": False, "sharp": True},
        "sentiment": {"label": "Negative"},
    }


def test_in_preview_a_crowd_form_cannot_be_submitted(api, page, sign_in):
    client = api().client()
    hit_id = create_hit(client, html_question(TEMPLATE, frame_height=2600), title="Review a photo")
    sign_in(make_worker())
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)
    _open_group(page, client, hit_id)

    preview = page.frame_locator("iframe.task")
    expect(preview.get_by_role("status").filter(has_text=PREVIEW_NOTICE)).to_be_visible()
    expect(preview.get_by_role("button", name="Submit")).to_be_disabled()
    preview.get_by_role("radio", name="Positive").click()
    preview.get_by_label("Describe the photo").fill("Trying anyway")
    form = preview.locator("crowd-form")
    form.evaluate("form => { form.requestSubmit(); form.submit(); }")
    expect(preview.get_by_role("status").filter(has_text=PREVIEW_NOTICE)).to_be_focused()
    assert not [url for url in posted if "externalSubmit" in url]
    assert client.list_assignments_for_hit(HITId=hit_id)["Assignments"] == []


def test_flatten_objects_answers_arrive_as_one_answer_per_leaf(api, page, sign_in):
    client = api().client()
    hit_id = create_hit(client, html_question(FLATTEN_TEMPLATE, frame_height=700), title="One word")
    sign_in(make_worker())
    _open_group(page, client, hit_id)
    task = _accept(page)
    task.get_by_role("radio", name="Negative").click()
    task.get_by_label("One word").fill("gloomy")
    task.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/submitted$"))

    _, identifiers = task_answers(client, hit_id)
    [assignment] = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert identifiers == ["sentiment.label", "sure.on", "word"]
    assert "<FreeText>Negative</FreeText>" in assignment["Answer"]
    assert "<FreeText>false</FreeText>" in assignment["Answer"]
    assert "<FreeText>gloomy</FreeText>" in assignment["Answer"]
