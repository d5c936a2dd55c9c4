"""The XML namespaces of MTurk's data schemas, exactly as clients send and expect them."""

from __future__ import annotations

from .xmlutil import SCHEMA_BASE

EXTERNAL_QUESTION = SCHEMA_BASE + "2006-07-14/ExternalQuestion.xsd"
HTML_QUESTION = SCHEMA_BASE + "2011-11-11/HTMLQuestion.xsd"
QUESTION_FORM_2005 = SCHEMA_BASE + "2005-10-01/QuestionForm.xsd"
#: The newer QuestionForm schema: no FileUploadAnswer and no Application content.
QUESTION_FORM_2017 = SCHEMA_BASE + "2017-11-06/QuestionForm.xsd"
QUESTION_FORM = (QUESTION_FORM_2005, QUESTION_FORM_2017)
FORMATTED_CONTENT = SCHEMA_BASE + "2006-07-14/FormattedContentXHTMLSubset.xsd"
QUESTION_FORM_ANSWERS = SCHEMA_BASE + "2005-10-01/QuestionFormAnswers.xsd"
ANSWER_KEY = SCHEMA_BASE + "2005-10-01/AnswerKey.xsd"
