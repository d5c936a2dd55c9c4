"""A qualification test in a real browser: request it, take it, have it scored by its answer key, and be granted
the qualification that a HIT requires."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CLASSIC_TEMPLATE, create_hit, html_question
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/"


def _question(identifier: str, sentence: str) -> str:
    return f"""
  <Question>
    <QuestionIdentifier>{identifier}</QuestionIdentifier><DisplayName>Sentence {identifier[-1]}</DisplayName>
    <IsRequired>true</IsRequired>
    <QuestionContent><Text>{sentence}</Text></QuestionContent>
    <AnswerSpecification><SelectionAnswer><StyleSuggestion>radiobutton</StyleSuggestion><Selections>
      <Selection><SelectionIdentifier>positive</SelectionIdentifier><Text>Positive</Text></Selection>
      <Selection><SelectionIdentifier>negative</SelectionIdentifier><Text>Negative</Text></Selection>
    </Selections></SelectionAnswer></AnswerSpecification>
  </Question>"""


TEST = f"""<QuestionForm xmlns="{NS}QuestionForm.xsd">
  <Overview><Title>Sentiment test</Title><Text>Say how each sentence feels.</Text></Overview>
  {_question("s1", "What a lovely morning!")}{_question("s2", "The food was cold and late.")}
</QuestionForm>"""

ANSWER_KEY = f"""<AnswerKey xmlns="{NS}AnswerKey.xsd">
  <Question><QuestionIdentifier>s1</QuestionIdentifier>
    <AnswerOption><SelectionIdentifier>positive</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption></Question>
  <Question><QuestionIdentifier>s2</QuestionIdentifier>
    <AnswerOption><SelectionIdentifier>negative</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption></Question>
  <QualificationValueMapping><PercentageMapping><MaximumSummedScore>2</MaximumSummedScore></PercentageMapping></QualificationValueMapping>
</AnswerKey>"""


def test_request_take_and_pass_a_qualification_test_then_the_hit_is_open(api, page, sign_in):
    client = api().client()
    type_id = client.create_qualification_type(
        Name="Sentiment grader", Description="Tells positive sentences from negative ones", Keywords="sentiment",
        QualificationTypeStatus="Active", Test=TEST, AnswerKey=ANSWER_KEY, TestDurationInSeconds=600,
        RetryDelayInSeconds=3600,
    )["QualificationType"]["QualificationTypeId"]
    hit_id = create_hit(client, html_question(CLASSIC_TEMPLATE), title="Grade sentiment", QualificationRequirements=[{
        "QualificationTypeId": type_id, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [50],
        "ActionsGuarded": "Accept",
    }])
    group_url = f"/worker/projects/{client.get_hit(HITId=hit_id)['HIT']['HITGroupId']}/tasks"
    worker = make_worker()
    sign_in(worker)

    page.goto(group_url)
    expect(page.locator("ul.requirements")).to_contain_text("You do not meet")
    expect(page.locator("ul.requirements")).to_contain_text("Sentiment grader")

    # Request: the type has a test, so the request opens it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Qualifications").click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Sentiment grader"))
    expect(card).to_contain_text("scored automatically")
    card.get_by_role("button", name="Take the test").click()
    expect(page).to_have_url(re.compile(r"/worker/qualifications/tests/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Qualification test: Sentiment grader")
    expect(page.get_by_role("timer")).to_be_visible()

    page.get_by_role("group", name="Sentence 1").get_by_label("Positive").check()
    page.get_by_role("group", name="Sentence 2").get_by_label("Negative").check()
    page.get_by_role("button", name="Hand in the test").click()

    # Scored at once by the answer key, and granted.
    expect(page.get_by_role("heading", name="Qualification granted")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("with the value 100")
    [grant] = client.list_workers_with_qualification_type(QualificationTypeId=type_id)["Qualifications"]
    assert grant["WorkerId"] == worker.worker_id and grant["IntegerValue"] == 100

    page.goto("/worker/qualifications/mine")
    granted = page.get_by_role("table", name="Granted by requesters")
    row = granted.get_by_role("row").filter(has_text="Sentiment grader")
    expect(row).to_contain_text("Granted")
    expect(row).to_contain_text("100")

    # Now the HIT that requires it can be accepted.
    page.goto(group_url)
    expect(page.locator("ul.requirements")).to_contain_text("You meet")
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))
