"""The results CSV writer on its own: MTurk's header, cell formats, answers, quoting."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kempelen.questions.answers import Answer, answers_as_mapping, answers_from_form_post, answers_xml
from kempelen.requester_site import results_csv as rc

# MTurk's header as it appears in real downloads (requester-site.md §3.1), with one Input and one Answer column.
MTURK_HEADER = (
    '"HITId","HITTypeId","Title","Description","Keywords","Reward","CreationTime","MaxAssignments",'
    '"RequesterAnnotation","AssignmentDurationInSeconds","AutoApprovalDelayInSeconds","Expiration",'
    '"NumberOfSimilarHITs","LifetimeInSeconds","AssignmentId","WorkerId","AssignmentStatus","AcceptTime",'
    '"SubmitTime","AutoApprovalTime","ApprovalTime","RejectionTime","RequesterFeedback","WorkTimeInSeconds",'
    '"LifetimeApprovalRate","Last30DaysApprovalRate","Last7DaysApprovalRate",'
    '"Input.image_url","Answer.taskAnswers","Approve","Reject"'
)
T0 = dt.datetime(2018, 1, 16, 21, 7, 16, 123456, tzinfo=dt.UTC)


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def write(header: list[str], rows: list[list[str]], per_chunk: int = 500) -> bytes:
    return b"".join(rc.encode(rc.quoted(header) + "\r\n", (rc.quoted(r) + "\r\n" for r in rows),
                              lines_per_chunk=per_chunk))


def test_the_header_is_mturk_s_column_for_column():
    writer = rc.RowWriter(["image_url"], ["taskAnswers"])
    assert b"".join(rc.encode(writer.header_line(), [])).decode() == MTURK_HEADER + "\r\n"


def test_input_columns_keep_file_order_and_answer_columns_are_sorted_by_code_point():
    columns = rc.answer_columns(["Q2", "comment", "Q10", "Q1", "Feedback", "comment"])
    assert columns == ["Feedback", "Q1", "Q10", "Q2", "comment"]
    header = rc.header(["zeta", "alpha"], columns)
    assert header[27:29] == ["Input.zeta", "Input.alpha"]
    assert header[29:34] == ["Answer.Feedback", "Answer.Q1", "Answer.Q10", "Answer.Q2", "Answer.comment"]
    assert header[-2:] == ["Approve", "Reject"]


def test_every_field_is_quoted_and_quotes_commas_and_line_breaks_survive():
    cells = ['say "hi"', "a,b", "two\nlines", "", "é 😀"]
    data = write(["A", "B", "C", "D", "E"], [cells])
    assert data.splitlines()[0] == b'"A","B","C","D","E"'
    assert '"say ""hi""","a,b","two\nlines","","é 😀"\r\n'.encode() in data
    assert parse(data)[1] == cells


def test_rows_come_out_in_chunks_that_join_into_one_file():
    rows = [[str(i), f"row {i}"] for i in range(1234)]
    chunks = list(rc.encode(rc.quoted(["n", "text"]) + "\r\n", (rc.quoted(r) + "\r\n" for r in rows),
                            lines_per_chunk=100))
    assert len(chunks) == 13
    assert parse(b"".join(chunks))[1:] == rows


def test_cell_formats():
    assert rc.format_time(T0) == "Tue Jan 16 21:07:16 UTC 2018"
    assert rc.format_time(T0.astimezone(dt.timezone(dt.timedelta(hours=-8)))) == "Tue Jan 16 21:07:16 UTC 2018"
    assert dt.datetime.strptime(rc.format_time(T0), "%a %b %d %H:%M:%S %Z %Y") == T0.replace(tzinfo=None, microsecond=0)
    assert rc.format_time(None) == ""
    assert rc.format_reward(50) == "$0.50"
    assert rc.format_reward(1205) == "$12.05"
    assert rc.format_rate(12, 12) == "100% (12/12)"
    assert rc.format_rate(2, 3) == "66% (2/3)"
    assert rc.format_rate(999, 1000) == "99% (999/1000)"
    assert rc.format_rate(0, 0) == "0% (0/0)"
    assert rc.work_seconds(T0, T0 + dt.timedelta(seconds=91, microseconds=900_000)) == "91"


def facts(**changes: object) -> tuple[rc.HITFacts, rc.AssignmentFacts]:
    hit = rc.HITFacts("HIT1", "TYPE1", "Rate a review", "Say it", "sentiment", 50, T0, 3, "BatchId:B1;", 600,
                      259200, T0 + dt.timedelta(days=7), 604800, {"b": "two", "a": "one"})
    assignment = rc.AssignmentFacts(
        "ASG1", "AWORKER1", "Submitted", T0, T0 + dt.timedelta(seconds=42), T0 + dt.timedelta(days=3, seconds=42), None, None,
        "", answers_from_form_post([("comment", "ok"), ("tags", "food"), ("tags", "service")]),
    )
    return hit, assignment._replace(**changes)  # type: ignore[arg-type]


def test_a_row_has_every_column_in_order():
    hit, assignment = facts()
    writer = rc.RowWriter(["a", "b"], ["comment", "missing", "tags"])
    line = writer.line(writer.hit_parts(hit), assignment,
                       writer.rates_part(rc.Rates("100% (3/3)", "50% (1/2)", "0% (0/0)")))
    assert line is not None and line.endswith('"",""\r\n')
    [row] = parse(line.encode())
    assert dict(zip(writer.header(), row, strict=True)) == {
        "HITId": "HIT1", "HITTypeId": "TYPE1", "Title": "Rate a review", "Description": "Say it",
        "Keywords": "sentiment", "Reward": "$0.50", "CreationTime": "Tue Jan 16 21:07:16 UTC 2018",
        "MaxAssignments": "3", "RequesterAnnotation": "BatchId:B1;", "AssignmentDurationInSeconds": "600",
        "AutoApprovalDelayInSeconds": "259200", "Expiration": "Tue Jan 23 21:07:16 UTC 2018",
        "NumberOfSimilarHITs": "", "LifetimeInSeconds": "604800", "AssignmentId": "ASG1", "WorkerId": "AWORKER1",
        "AssignmentStatus": "Submitted", "AcceptTime": "Tue Jan 16 21:07:16 UTC 2018",
        "SubmitTime": "Tue Jan 16 21:07:58 UTC 2018", "AutoApprovalTime": "Fri Jan 19 21:07:58 UTC 2018",
        "ApprovalTime": "", "RejectionTime": "", "RequesterFeedback": "", "WorkTimeInSeconds": "42",
        "LifetimeApprovalRate": "100% (3/3)", "Last30DaysApprovalRate": "50% (1/2)",
        "Last7DaysApprovalRate": "0% (0/0)", "Input.a": "one", "Input.b": "two", "Answer.comment": "ok",
        "Answer.missing": "", "Answer.tags": "food|service", "Approve": "", "Reject": "",
    }


def test_timestamps_as_the_databases_give_them_as_text_read_the_same():
    assert rc.format_time("2018-01-16 21:07:16.123456") == "Tue Jan 16 21:07:16 UTC 2018"  # SQLite
    assert rc.format_time("2018-01-16 21:07:16+00") == "Tue Jan 16 21:07:16 UTC 2018"  # PostgreSQL
    assert rc.work_seconds("2018-01-16 21:07:16.900000", "2018-01-16 21:08:58.100000+00") == "101"
    assert rc.work_seconds(T0, "2018-01-16 21:07:58.123456") == "42"


def test_checkboxes_sharing_a_name_are_one_pipe_joined_cell_as_in_the_api_answer():
    xml = answers_from_form_post([("colour", "red"), ("size", "L"), ("colour", "blue"), ("colour", "green")])
    assert rc.answer_values(xml) == {"colour": "red|blue|green", "size": "L"}
    assert answers_as_mapping(xml)["colour"] == "red|blue|green"


def test_a_crowd_form_answer_is_the_task_answers_json_in_one_column():
    task_answers = json.dumps([{"sentiment": {"label": "Positive"}, "box": {"boundingBoxes": [
        {"height": 10, "label": "cat", "left": 1, "top": 2, "width": 30}]}, "note": "naïve <b>&</b>"}])
    xml = answers_from_form_post([("taskAnswers", task_answers), ("assignmentId", "X")])
    values = rc.answer_values(xml)
    assert values == {"taskAnswers": task_answers}
    writer = rc.RowWriter([], rc.answer_columns(values))
    hit, assignment = facts(answer=xml)
    line = writer.line(writer.hit_parts(hit), assignment, writer.rates_part(rc.NO_RATES))
    assert line is not None
    parsed = parse(b"".join(rc.encode(writer.header_line(), [line])))
    assert parsed[0][-3:] == ["Answer.taskAnswers", "Approve", "Reject"]
    assert json.loads(parsed[1][-3]) == json.loads(task_answers)


def test_a_row_with_an_answer_field_the_header_lacks_is_left_out():
    hit, assignment = facts(answer=answers_from_form_post([("late_field", "x")]))
    writer = rc.RowWriter([], ["comment"])
    assert writer.line(writer.hit_parts(hit), assignment, writer.rates_part(rc.NO_RATES)) is None


def test_question_form_answers_selections_files_and_other_namespaces_read_like_the_xml_parser_reads_them():
    xml = answers_xml([
        Answer("colour", selection_identifiers=("red", "blue"), other_selection_text="teal"),
        Answer("photo", uploaded_file_key="KEY123", uploaded_file_size=10),
        Answer("why", free_text="because"),
    ])
    assert rc.answer_values(xml) == {"colour": "red|blue|teal", "photo": "KEY123", "why": "because"}
    prefixed = ('<q:QuestionFormAnswers xmlns:q="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
                '2005-10-01/QuestionFormAnswers.xsd"><q:Answer><q:QuestionIdentifier>a</q:QuestionIdentifier>'
                '<q:FreeText>x &amp; y</q:FreeText></q:Answer></q:QuestionFormAnswers>')
    assert rc.answer_values(prefixed) == {"a": "x & y"}
    assert rc.answer_values("") == {}
    assert rc.answer_values("<not xml") == {}


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(texts, texts), max_size=6))
def test_the_fast_reader_agrees_with_the_xml_parser_on_every_form_post(fields):
    xml = answers_from_form_post(fields)
    expected = {name: value if isinstance(value, str) else "|".join(sorted(value))
                for name, value in answers_as_mapping(xml).items()}
    assert rc.answer_values(xml) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(texts, min_size=1, max_size=5), min_size=1, max_size=5))
def test_lines_are_exactly_what_csv_quote_all_writes(rows):
    expected = io.StringIO()
    csv.writer(expected, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    written = write(rows[0], rows[1:], per_chunk=2).decode()
    assert written == expected.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(texts, texts), max_size=6))
def test_the_first_pass_finds_exactly_the_fields_the_rows_have(fields):
    xml = answers_from_form_post(fields)
    assert set(rc.answer_fields(xml)) == set(rc.answer_values(xml))
