"""Documents and helpers shared by the qualification tests: a bird-identification test as requesters wrote them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from kempelen.accounts.models import Worker
from kempelen.core.actors import Actor

BASE = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
FORM_NS = BASE + "2005-10-01/QuestionForm.xsd"
ANSWER_KEY_NS = BASE + "2005-10-01/AnswerKey.xsd"
HTML_NS = BASE + "2011-11-11/HTMLQuestion.xsd"


def _bird_question(identifier: str, picture: str, right: str) -> str:
    choices = "".join(
        f"<Selection><SelectionIdentifier>{bird}</SelectionIdentifier><Text>{bird.title()}</Text></Selection>"
        for bird in ("robin", "wren", "finch", "sparrow")
    )
    return f"""
  <Question>
    <QuestionIdentifier>{identifier}</QuestionIdentifier>
    <DisplayName>Picture {identifier[-1]}</DisplayName>
    <IsRequired>true</IsRequired>
    <QuestionContent>
      <Binary>
        <MimeType><Type>image</Type><SubType>jpeg</SubType></MimeType>
        <DataURL>https://images.example.org/birds/{picture}.jpg</DataURL>
        <AltText>A small bird ({right})</AltText>
      </Binary>
      <Text>Which bird is in this picture?</Text>
    </QuestionContent>
    <AnswerSpecification>
      <SelectionAnswer>
        <StyleSuggestion>radiobutton</StyleSuggestion>
        <Selections>{choices}</Selections>
      </SelectionAnswer>
    </AnswerSpecification>
  </Question>"""


# Three pictures; the right answers are robin, wren, finch.
BIRD_TEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<QuestionForm xmlns="{FORM_NS}">
  <Overview>
    <Title>Bird identification test</Title>
    <Text>Workers who pass this test may work on our bird-labelling HITs.</Text>
  </Overview>{_bird_question("bird1", "p1", "robin")}{_bird_question("bird2", "p2", "wren")}{_bird_question("bird3", "p3", "finch")}
  <Question>
    <QuestionIdentifier>experience</QuestionIdentifier>
    <IsRequired>false</IsRequired>
    <QuestionContent><Text>How many years have you been birdwatching?</Text></QuestionContent>
    <AnswerSpecification>
      <FreeTextAnswer><Constraints><IsNumeric minValue="0" maxValue="99"/></Constraints></FreeTextAnswer>
    </AnswerSpecification>
  </Question>
</QuestionForm>
"""

BIRD_KEY = f"""<?xml version="1.0" encoding="UTF-8"?>
<AnswerKey xmlns="{ANSWER_KEY_NS}">
  <Question>
    <QuestionIdentifier>bird1</QuestionIdentifier>
    <AnswerOption><SelectionIdentifier>robin</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption>
  </Question>
  <Question>
    <QuestionIdentifier>bird2</QuestionIdentifier>
    <AnswerOption><SelectionIdentifier>wren</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption>
  </Question>
  <Question>
    <QuestionIdentifier>bird3</QuestionIdentifier>
    <AnswerOption><SelectionIdentifier>finch</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption>
    <DefaultScore>0</DefaultScore>
  </Question>
  <QualificationValueMapping>
    <PercentageMapping><MaximumSummedScore>3</MaximumSummedScore></PercentageMapping>
  </QualificationValueMapping>
</AnswerKey>
"""

# A key that scores a question the test does not have.
KEY_FOR_ANOTHER_TEST = BIRD_KEY.replace("bird3", "bird9")

# A second version of the test: one picture only.
SHORT_TEST = f"""<QuestionForm xmlns="{FORM_NS}">{_bird_question("bird1", "p7", "robin")}</QuestionForm>"""
SHORT_KEY = f"""<AnswerKey xmlns="{ANSWER_KEY_NS}">
  <Question>
    <QuestionIdentifier>bird1</QuestionIdentifier>
    <AnswerOption><SelectionIdentifier>robin</SelectionIdentifier><AnswerScore>10</AnswerScore></AnswerOption>
  </Question>
</AnswerKey>"""

HTML_TEST = f"""<HTMLQuestion xmlns="{HTML_NS}">
  <HTMLContent><![CDATA[<!DOCTYPE html><html><body><form><input name="bird"/></form></body></html>]]></HTMLContent>
  <FrameHeight>400</FrameHeight>
</HTMLQuestion>"""

TWO_RIGHT = {"bird1": ["robin"], "bird2": ["wren"], "bird3": ["sparrow"], "experience": ["4"]}
ALL_RIGHT = {"bird1": ["robin"], "bird2": ["wren"], "bird3": ["finch"]}


def worker_actor(worker: Worker) -> Actor:
    return Actor.for_worker(worker)


@dataclass
class Refusal:
    code: str
    turk_code: str | None
    message: str


def refused(call: Any, **kwargs: Any) -> Refusal:
    """Call a client method that must be refused with a RequestError, and say how it was refused."""
    try:
        call(**kwargs)
    except ClientError as error:
        response = error.response
        message = re.sub(r" \(\d+(?: s)?\)$", "", response["Error"].get("Message", ""))
        return Refusal(response["Error"]["Code"], response.get("TurkErrorCode"), message)
    raise AssertionError(f"{call.__name__} succeeded but should have been refused")


def is_empty_output(response: dict) -> bool:
    """Operations without output answer exactly ``{}`` (Dallinger treats any other key as a failure)."""
    return set(response) == {"ResponseMetadata"}
