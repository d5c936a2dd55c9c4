"""Realistic MTurk documents, written the way requesters and client libraries send them."""

from __future__ import annotations

BASE = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"
EXTERNAL_NS = BASE + "2006-07-14/ExternalQuestion.xsd"
HTML_NS = BASE + "2011-11-11/HTMLQuestion.xsd"
FORM_NS = BASE + "2005-10-01/QuestionForm.xsd"
FORM_2017_NS = BASE + "2017-11-06/QuestionForm.xsd"
ANSWER_KEY_NS = BASE + "2005-10-01/AnswerKey.xsd"
ANSWERS_NS = BASE + "2005-10-01/QuestionFormAnswers.xsd"

# As Mephisto sends it: XML declaration, and the query string's & escaped as &amp;.
EXTERNAL_QUESTION = f"""<?xml version="1.0" encoding="UTF-8"?>
<ExternalQuestion xmlns="{EXTERNAL_NS}">
  <ExternalURL>https://tasks.example.org/experiment?study=colour-naming&amp;condition=B&amp;lang=en</ExternalURL>
  <FrameHeight>0</FrameHeight>
</ExternalQuestion>
"""

# AWS's HTMLQuestion sample: a form posting to externalSubmit, wired up by externalHIT_v1.js.
HTML_QUESTION = f"""<HTMLQuestion xmlns="{HTML_NS}">
  <HTMLContent><![CDATA[
<!DOCTYPE html>
<html>
 <head>
  <meta http-equiv='Content-Type' content='text/html; charset=UTF-8'/>
  <script type='text/javascript' src='https://s3.amazonaws.com/mturk-public/externalHIT_v1.js'></script>
 </head>
 <body>
  <form name='mturk_form' method='post' id='mturk_form' action='https://www.mturk.com/mturk/externalSubmit'>
  <input type='hidden' value='' name='assignmentId' id='assignmentId'/>
  <h1>What's up?</h1>
  <p><textarea name='comment' cols='80' rows='3'></textarea></p>
  <p><input type='submit' id='submitButton' value='Submit' /></p></form>
  <script language='Javascript'>turkSetAssignmentID();</script>
 </body>
</html>
]]>
  </HTMLContent>
  <FrameHeight>450</FrameHeight>
</HTMLQuestion>
"""

# An overview, a free-text question with a regex, a radio question with "other", a checkbox question with
# selection counts, and a numeric question: the shapes qualification tests use.
QUESTION_FORM = f"""<?xml version="1.0" encoding="UTF-8"?>
<QuestionForm xmlns="{FORM_NS}">
  <Overview>
    <Title>Bird identification test</Title>
    <Text>Answer the questions below about the photographs.</Text>
    <List><ListItem>Be careful</ListItem><ListItem>Take your time</ListItem></List>
    <Binary>
      <MimeType><Type>image</Type><SubType>jpeg</SubType></MimeType>
      <DataURL>https://images.example.org/birds/robin.jpg</DataURL>
      <AltText>A small bird on a branch</AltText>
    </Binary>
    <FormattedContent><![CDATA[<p>Read the <b>instructions</b>&nbsp;first. <a href="https://example.org/help">Help</a></p>]]></FormattedContent>
  </Overview>
  <Question>
    <QuestionIdentifier>zip</QuestionIdentifier>
    <DisplayName>Postal code</DisplayName>
    <IsRequired>true</IsRequired>
    <QuestionContent><Text>Your five-digit ZIP code:</Text></QuestionContent>
    <AnswerSpecification>
      <FreeTextAnswer>
        <Constraints>
          <Length minLength="5" maxLength="5"/>
          <AnswerFormatRegex regex="^[0-9]{{5}}$" errorText="Enter exactly five digits."/>
        </Constraints>
        <DefaultText></DefaultText>
        <NumberOfLinesSuggestion>1</NumberOfLinesSuggestion>
      </FreeTextAnswer>
    </AnswerSpecification>
  </Question>
  <Question>
    <QuestionIdentifier>species</QuestionIdentifier>
    <IsRequired>true</IsRequired>
    <QuestionContent><Text>Which bird is in the picture?</Text></QuestionContent>
    <AnswerSpecification>
      <SelectionAnswer>
        <StyleSuggestion>radiobutton</StyleSuggestion>
        <Selections>
          <Selection><SelectionIdentifier>robin</SelectionIdentifier><Text>Robin</Text></Selection>
          <Selection><SelectionIdentifier>wren</SelectionIdentifier><Text>Wren</Text></Selection>
          <Selection><SelectionIdentifier>finch</SelectionIdentifier><FormattedContent><![CDATA[<i>Finch</i>]]></FormattedContent></Selection>
          <OtherSelection>
            <Constraints><Length minLength="3" maxLength="40"/></Constraints>
          </OtherSelection>
        </Selections>
      </SelectionAnswer>
    </AnswerSpecification>
  </Question>
  <Overview><Text>Part two</Text></Overview>
  <Question>
    <QuestionIdentifier>colours</QuestionIdentifier>
    <IsRequired>false</IsRequired>
    <QuestionContent><Text>Which colours do you see? Pick two or three.</Text></QuestionContent>
    <AnswerSpecification>
      <SelectionAnswer>
        <MinSelectionCount>2</MinSelectionCount>
        <MaxSelectionCount>3</MaxSelectionCount>
        <StyleSuggestion>checkbox</StyleSuggestion>
        <Selections>
          <Selection><SelectionIdentifier>red</SelectionIdentifier><Text>Red</Text></Selection>
          <Selection><SelectionIdentifier>brown</SelectionIdentifier><Text>Brown</Text></Selection>
          <Selection><SelectionIdentifier>grey</SelectionIdentifier><Text>Grey</Text></Selection>
          <Selection><SelectionIdentifier>blue</SelectionIdentifier><Text>Blue</Text></Selection>
        </Selections>
      </SelectionAnswer>
    </AnswerSpecification>
  </Question>
  <Question>
    <QuestionIdentifier>count</QuestionIdentifier>
    <IsRequired>true</IsRequired>
    <QuestionContent><Text>How many birds are there?</Text></QuestionContent>
    <AnswerSpecification>
      <FreeTextAnswer>
        <Constraints><IsNumeric minValue="1" maxValue="20"/></Constraints>
      </FreeTextAnswer>
    </AnswerSpecification>
  </Question>
  <Question>
    <QuestionIdentifier>comment</QuestionIdentifier>
    <QuestionContent><Title>Anything else?</Title></QuestionContent>
    <AnswerSpecification><FreeTextAnswer/></AnswerSpecification>
  </Question>
</QuestionForm>
"""

# The AWS documentation's example key, with a negative score and a DefaultScore added.
ANSWER_KEY = f"""<AnswerKey xmlns="{ANSWER_KEY_NS}">
  <Question>
    <QuestionIdentifier>species</QuestionIdentifier>
    <AnswerOption>
      <SelectionIdentifier>robin</SelectionIdentifier>
      <AnswerScore>10</AnswerScore>
    </AnswerOption>
    <AnswerOption>
      <SelectionIdentifier>wren</SelectionIdentifier>
      <AnswerScore>-5</AnswerScore>
    </AnswerOption>
    <DefaultScore>1</DefaultScore>
  </Question>
  <Question>
    <QuestionIdentifier>colours</QuestionIdentifier>
    <AnswerOption>
      <SelectionIdentifier>red</SelectionIdentifier>
      <SelectionIdentifier>brown</SelectionIdentifier>
      <AnswerScore>5</AnswerScore>
    </AnswerOption>
  </Question>
  {{mapping}}
</AnswerKey>
"""


def question_form(body: str, namespace: str = FORM_NS) -> str:
    return f'<QuestionForm xmlns="{namespace}">{body}</QuestionForm>'


def free_text_question(identifier: str = "q1", answer: str = "<FreeTextAnswer/>", required: bool = False) -> str:
    return (
        f"<Question><QuestionIdentifier>{identifier}</QuestionIdentifier>"
        f"<IsRequired>{'true' if required else 'false'}</IsRequired>"
        "<QuestionContent><Text>Question?</Text></QuestionContent>"
        f"<AnswerSpecification>{answer}</AnswerSpecification></Question>"
    )


def selection_question(identifier: str, selections: str, counts: str = "", required: bool = True) -> str:
    return free_text_question(
        identifier, f"<SelectionAnswer>{counts}<Selections>{selections}</Selections></SelectionAnswer>", required
    )


def selection(identifier: str, text: str | None = None) -> str:
    return f"<Selection><SelectionIdentifier>{identifier}</SelectionIdentifier><Text>{text or identifier}</Text></Selection>"


def answer_key(mapping: str = "") -> str:
    return ANSWER_KEY.replace("{mapping}", mapping)
