"""A QuestionForm HIT in a real browser: a required question left out is shown next to the question with what
the worker typed kept; once fixed, the work is submitted and the requester reads the answers."""

import re

import pytest
from playwright.sync_api import expect

from kempelen.marketplace.models import Assignment
from kempelen.questions.answers import parse_answers
from tests.browser.conftest import QUESTION_FORM_NS, create_hit
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION_FORM = f"""<QuestionForm xmlns="{QUESTION_FORM_NS}">
  <Overview><Title>Describe the photo</Title><Text>Look at the photo of a living room and answer three questions.</Text></Overview>
  <Question>
    <QuestionIdentifier>caption</QuestionIdentifier><DisplayName>Caption</DisplayName><IsRequired>true</IsRequired>
    <QuestionContent><Text>Write a one-line caption.</Text></QuestionContent>
    <AnswerSpecification><FreeTextAnswer><Constraints><Length minLength="5" maxLength="100"/></Constraints></FreeTextAnswer></AnswerSpecification>
  </Question>
  <Question>
    <QuestionIdentifier>objects</QuestionIdentifier><DisplayName>Objects</DisplayName><IsRequired>true</IsRequired>
    <QuestionContent><Text>What is in the photo?</Text></QuestionContent>
    <AnswerSpecification><SelectionAnswer>
      <MinSelectionCount>1</MinSelectionCount><MaxSelectionCount>2</MaxSelectionCount><StyleSuggestion>checkbox</StyleSuggestion>
      <Selections>
        <Selection><SelectionIdentifier>cat</SelectionIdentifier><Text>A cat</Text></Selection>
        <Selection><SelectionIdentifier>sofa</SelectionIdentifier><Text>A sofa</Text></Selection>
        <Selection><SelectionIdentifier>lamp</SelectionIdentifier><Text>A lamp</Text></Selection>
      </Selections>
    </SelectionAnswer></AnswerSpecification>
  </Question>
  <Question>
    <QuestionIdentifier>count</QuestionIdentifier><DisplayName>Animals</DisplayName><IsRequired>false</IsRequired>
    <QuestionContent><Text>How many animals do you see?</Text></QuestionContent>
    <AnswerSpecification><FreeTextAnswer><Constraints><IsNumeric minValue="0" maxValue="20"/></Constraints></FreeTextAnswer></AnswerSpecification>
  </Question>
</QuestionForm>"""


def test_a_required_question_left_out_is_shown_next_to_it_and_typed_answers_are_kept(api, page, sign_in):
    client = api().client()
    hit_id = create_hit(client, QUESTION_FORM, title="Describe a photo")
    group_id = client.get_hit(HITId=hit_id)["HIT"]["HITGroupId"]
    worker = make_worker()
    sign_in(worker)

    # The preview shows the questions, read-only.
    page.goto(f"/worker/projects/{group_id}/tasks")
    expect(page.get_by_role("heading", name="Describe the photo")).to_be_visible()
    expect(page.get_by_role("group", name="Caption")).to_be_visible()
    expect(page.get_by_role("group", name="Caption").get_by_role("textbox")).to_be_disabled()
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))

    caption = page.get_by_role("group", name="Caption")
    objects = page.get_by_role("group", name="Objects")
    animals = page.get_by_role("group", name="Animals")
    caption.get_by_role("textbox").fill("A cat asleep on a sofa")
    animals.get_by_role("textbox").fill("1")
    page.get_by_role("button", name="Submit").click()

    # The page says something needs fixing, next to the question; what was typed is still there.
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(page.locator("p.error[role=alert]")).to_contain_text("Some answers need fixing")
    expect(objects.get_by_role("alert")).to_contain_text("Please fix")
    expect(caption.get_by_role("alert")).to_have_count(0)
    expect(caption.get_by_role("textbox")).to_have_value("A cat asleep on a sofa")
    expect(animals.get_by_role("textbox")).to_have_value("1")
    assert Assignment.objects.get(worker=worker).status == "Accepted"

    objects.get_by_label("A cat").check()
    objects.get_by_label("A sofa").check()
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/submitted$"))
    expect(page.get_by_role("status")).to_contain_text("was submitted")

    [assignment] = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    answers = {a.identifier: a for a in parse_answers(assignment["Answer"])}
    assert answers["caption"].free_text == "A cat asleep on a sofa"
    assert answers["count"].free_text == "1"
    assert sorted(answers["objects"].selection_identifiers) == ["cat", "sofa"]
