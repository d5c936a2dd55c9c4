"""A first pass through the API with a real boto3 client."""

import pytest

HTML_QUESTION = """<?xml version="1.0" encoding="UTF-8"?>
<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
  <HTMLContent><![CDATA[<!DOCTYPE html><html><body><form name="mturk_form" method="post" id="mturk_form"
  action="https://www.mturk.com/mturk/externalSubmit"><input type="hidden" value="" name="assignmentId" id="assignmentId"/>
  <input name="label" type="text"/><input type="submit" id="submitButton"/></form>
  <script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script><script>turkSetAssignmentID();</script>
  </body></html>]]></HTMLContent>
  <FrameHeight>450</FrameHeight>
</HTMLQuestion>"""


@pytest.mark.django_db(transaction=True)
def test_create_then_get_hit(api):
    client = api().client()
    created = client.create_hit(
        Title="Label a picture", Description="Say what is in the picture", Reward="0.50",
        LifetimeInSeconds=3600, AssignmentDurationInSeconds=600, MaxAssignments=3, Question=HTML_QUESTION,
    )["HIT"]
    got = client.get_hit(HITId=created["HITId"])["HIT"]
    assert got["HITStatus"] == "Assignable"
    assert got["NumberOfAssignmentsAvailable"] == 3
    assert got["Reward"] == "0.50"
    balance = client.get_account_balance()
    assert balance["AvailableBalance"] == f"{1000 - 3 * 0.60:.2f}"
