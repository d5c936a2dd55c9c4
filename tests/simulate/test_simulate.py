"""`kempelen simulate`: synthetic workers complete a requester's HITs of every format in the sandbox."""

import textwrap

import pytest

from kempelen.marketplace.models import Assignment
from kempelen.questions.answers import answers_as_mapping
from kempelen.simulate import run_simulation

QF = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd"
HTML_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
EXT_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"

HTML = f"""<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><![CDATA[<!DOCTYPE html><html><body>
<form name="mturk_form" method="post" action="https://www.mturk.com/mturk/externalSubmit">
<input type="hidden" name="assignmentId" value="">
<input type="radio" name="sentiment" value="positive"><input type="radio" name="sentiment" value="negative">
<input type="submit"></form></body></html>]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"""

FORM = f"""<QuestionForm xmlns="{QF}"><Question><QuestionIdentifier>colour</QuestionIdentifier>
<IsRequired>true</IsRequired><QuestionContent><Text>Pick a colour</Text></QuestionContent>
<AnswerSpecification><SelectionAnswer><StyleSuggestion>radiobutton</StyleSuggestion><Selections>
<Selection><SelectionIdentifier>red</SelectionIdentifier><Text>Red</Text></Selection>
<Selection><SelectionIdentifier>blue</SelectionIdentifier><Text>Blue</Text></Selection>
</Selections></SelectionAnswer></AnswerSpecification></Question></QuestionForm>"""

EXTERNAL = f"""<ExternalQuestion xmlns="{EXT_NS}"><ExternalURL>https://survey.example.org/s?id=1&amp;x=2</ExternalURL>
<FrameHeight>600</FrameHeight></ExternalQuestion>"""


def _post(client, question, assignments=2):
    return client.create_hit(
        Title="Simulated", Description="For synthetic workers", Reward="0.10", LifetimeInSeconds=600,
        AssignmentDurationInSeconds=300, MaxAssignments=assignments, Question=question,
    )["HIT"]["HITId"]


@pytest.mark.django_db(transaction=True)
def test_synthetic_workers_complete_every_format_in_the_sandbox(api):
    client = api().client("sandbox")
    hits = [_post(client, q) for q in (HTML, FORM, EXTERNAL)]
    report = run_simulation(environment="sandbox", workers=3, seed=7, idle_seconds=0.3)
    assert report.submitted == 6
    for hit_id in hits:
        hit = client.get_hit(HITId=hit_id)["HIT"]
        assert hit["HITStatus"] == "Reviewable"
        answers = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
        assert len({a["WorkerId"] for a in answers}) == 2
    sentiments = {answers_as_mapping(a.answer)["sentiment"] for a in Assignment.objects.filter(hit_id=hits[0])}
    assert sentiments <= {"positive", "negative"}
    colours = {frozenset(answers_as_mapping(a.answer)["colour"]) for a in Assignment.objects.filter(hit_id=hits[1])}
    assert colours <= {frozenset({"red"}), frozenset({"blue"})}


@pytest.mark.django_db(transaction=True)
def test_synthetic_workers_stay_out_of_the_live_environment(api):
    live_hit = _post(api().client("live"), HTML)
    report = run_simulation(environment="sandbox", workers=2, idle_seconds=0.2)
    assert report.submitted == 0
    assert not Assignment.objects.filter(hit_id=live_hit).exists()


@pytest.mark.django_db(transaction=True)
def test_a_requester_script_chooses_the_answers(api, tmp_path):
    client = api().client("sandbox")
    hit_id = _post(client, HTML, assignments=1)
    script = tmp_path / "answers.py"
    script.write_text(textwrap.dedent("""
        def answer(hit, question, worker):
            return [("sentiment", "negative"), ("note", f"by {worker.worker_id}")]
    """))
    run_simulation(environment="sandbox", workers=1, script=str(script), idle_seconds=0.2)
    [assignment] = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert "<FreeText>negative</FreeText>" in assignment["Answer"]
    assert f"by {assignment['WorkerId']}" in assignment["Answer"]


@pytest.mark.django_db(transaction=True)
def test_returning_workers_give_the_slot_back(api):
    client = api().client("sandbox")
    hit_id = _post(client, HTML, assignments=1)
    report = run_simulation(environment="sandbox", workers=1, return_rate=1.0, max_cycles=1, duration=1.0)
    assert report.returned >= 1
    assert client.get_hit(HITId=hit_id)["HIT"]["NumberOfAssignmentsAvailable"] == 1
