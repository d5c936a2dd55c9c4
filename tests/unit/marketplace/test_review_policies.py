"""Review policies: parsing and validation of the wire form, ScoreMyKnownAnswers and SimplePlurality."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kempelen.core.errors import InvalidParameter
from kempelen.marketplace.review_policies import (
    SCORE_MY_KNOWN_ANSWERS,
    SIMPLE_PLURALITY,
    AssignmentAnswers,
    IntendedAction,
    ReviewResult,
    ScoreMyKnownAnswers,
    SimplePlurality,
    evaluate_known_answers,
    evaluate_plurality,
    extension_allowed,
    parse_assignment_policy,
    parse_hit_policy,
    percentage,
    policy_to_wire,
)

HIT = "HIT1"
ASSIGNMENT = "ASG1"

# ---------------------------------------------------------------------------------------------------------------
# Builders for the wire form


def param(key: str, *values: Any) -> dict[str, Any]:
    return {"Key": key, "Values": list(values)}


def answer_key(**entries: list[str]) -> dict[str, Any]:
    return {"Key": "AnswerKey", "MapEntries": [{"Key": q, "Values": v} for q, v in entries.items()]}


def known_answers_wire(*params: dict[str, Any], key: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "PolicyName": SCORE_MY_KNOWN_ANSWERS,
        "Parameters": [key or answer_key(q1=["A"]), *params],
    }


def plurality_wire(*params: dict[str, Any], question_ids: tuple[str, ...] = ("q1",)) -> dict[str, Any]:
    return {
        "PolicyName": SIMPLE_PLURALITY,
        "Parameters": [
            param("QuestionIds", *question_ids),
            param("QuestionAgreementThreshold", "50"),
            param("DisregardAssignmentIfRejected", "true"),
            *params,
        ],
    }


def refused(parse: Any, wire: Any) -> str:
    with pytest.raises(InvalidParameter) as caught:
        parse(wire)
    assert caught.value.code == "InvalidParameterValue"
    return caught.value.message


# ---------------------------------------------------------------------------------------------------------------
# Parsing: the envelope


def test_no_policy_parses_to_none_at_either_level() -> None:
    assert parse_assignment_policy(None) is None
    assert parse_hit_policy(None) is None


def test_assignment_level_refuses_simple_plurality_and_says_where_it_belongs() -> None:
    message = refused(parse_assignment_policy, plurality_wire())
    assert message == (
        "AssignmentReviewPolicy.PolicyName SimplePlurality/2011-09-01 is a policy for HITReviewPolicy, not "
        "AssignmentReviewPolicy; AssignmentReviewPolicy takes ScoreMyKnownAnswers/2011-09-01."
    )


def test_hit_level_refuses_score_my_known_answers_and_says_where_it_belongs() -> None:
    message = refused(parse_hit_policy, known_answers_wire())
    assert (
        "ScoreMyKnownAnswers/2011-09-01 is a policy for AssignmentReviewPolicy, not HITReviewPolicy"
        in message
    )
    assert "HITReviewPolicy takes SimplePlurality/2011-09-01" in message


def test_unknown_policy_name_is_refused_with_a_suggestion_for_a_near_miss() -> None:
    message = refused(
        parse_assignment_policy, {"PolicyName": "ScoreMyKnownAnswers/2012-01-01", "Parameters": []}
    )
    assert message == (
        "AssignmentReviewPolicy.PolicyName 'ScoreMyKnownAnswers/2012-01-01' is not a review policy Kempelen knows; "
        "AssignmentReviewPolicy takes ScoreMyKnownAnswers/2011-09-01. Did you mean ScoreMyKnownAnswers/2011-09-01?"
    )
    assert "Did you mean" not in refused(parse_hit_policy, {"PolicyName": "MajorityVote", "Parameters": []})


def test_policy_name_is_required() -> None:
    message = refused(parse_hit_policy, {"Parameters": []})
    assert message == "HITReviewPolicy.PolicyName is required; use SimplePlurality/2011-09-01."


def test_unknown_envelope_member_is_refused() -> None:
    wire = {**known_answers_wire(), "Parameter": []}
    assert "unknown member 'Parameter'" in refused(parse_assignment_policy, wire)


def test_a_parameter_without_key_is_refused() -> None:
    wire = {"PolicyName": SCORE_MY_KNOWN_ANSWERS, "Parameters": [{"Values": ["1"]}]}
    assert refused(parse_assignment_policy, wire) == (
        "AssignmentReviewPolicy.Parameters[0] has no Key; every parameter needs its name in Key."
    )


# ---------------------------------------------------------------------------------------------------------------
# Parsing: ScoreMyKnownAnswers


def test_minimal_known_answers_policy_takes_mturk_defaults() -> None:
    policy = parse_assignment_policy(known_answers_wire())
    assert policy == ScoreMyKnownAnswers(answer_key={"q1": ("A",)})
    assert policy.extend_maximum_assignments == 5
    assert policy.extend_minimum_time_in_seconds is None


def test_every_known_answers_parameter_is_parsed() -> None:
    policy = parse_assignment_policy(
        known_answers_wire(
            param("ApproveIfKnownAnswerScoreIsAtLeast", "80"),
            param("ApproveReason", "Good work"),
            param("RejectIfKnownAnswerScoreIsLessThan", "50"),
            param("RejectReason", "Too many known answers wrong"),
            param("ExtendIfKnownAnswerScoreIsLessThan", "50"),
            param("ExtendMaximumAssignments", "7"),
            param("ExtendMinimumTimeInSeconds", "3600"),
            key=answer_key(q1=["A"], q2=["B", "C"]),
        )
    )
    assert policy == ScoreMyKnownAnswers(
        answer_key={"q1": ("A",), "q2": ("B", "C")},
        approve_if_known_answer_score_is_at_least=80,
        approve_reason="Good work",
        reject_if_known_answer_score_is_less_than=50,
        reject_reason="Too many known answers wrong",
        extend_if_known_answer_score_is_less_than=50,
        extend_maximum_assignments=7,
        extend_minimum_time_in_seconds=3600,
    )


def test_answer_key_is_required() -> None:
    wire = {
        "PolicyName": SCORE_MY_KNOWN_ANSWERS,
        "Parameters": [param("ApproveIfKnownAnswerScoreIsAtLeast", "1")],
    }
    assert refused(parse_assignment_policy, wire) == (
        "AssignmentReviewPolicy is missing the parameter AnswerKey, which ScoreMyKnownAnswers/2011-09-01 requires."
    )


def test_answer_key_needs_at_least_one_map_entry() -> None:
    message = refused(parse_assignment_policy, known_answers_wire(key={"Key": "AnswerKey", "MapEntries": []}))
    assert message.startswith("AssignmentReviewPolicy parameter AnswerKey needs MapEntries")


def test_answer_key_refuses_a_question_given_twice() -> None:
    key = {"Key": "AnswerKey", "MapEntries": [{"Key": "q1", "Values": ["A"]}, {"Key": "q1", "Values": ["B"]}]}
    assert refused(parse_assignment_policy, known_answers_wire(key=key)) == (
        "AssignmentReviewPolicy parameter AnswerKey gives question 'q1' more than once."
    )


def test_answer_key_takes_map_entries_not_values() -> None:
    message = refused(parse_assignment_policy, known_answers_wire(key=param("AnswerKey", "A")))
    assert (
        message
        == "AssignmentReviewPolicy parameter AnswerKey takes MapEntries (question id → Values), not Values."
    )


def test_answer_key_values_are_trimmed_deduplicated_and_blank_means_a_blank_answer() -> None:
    policy = parse_assignment_policy(known_answers_wire(key=answer_key(q1=[" A ", "A", "B"], q2=[""], q3=[])))
    assert policy is not None
    assert policy.answer_key == {"q1": ("A", "B"), "q2": (), "q3": ()}


@pytest.mark.parametrize(
    ("key", "value", "bounds"),
    [
        ("ApproveIfKnownAnswerScoreIsAtLeast", "-1", "from 0 to 101"),
        ("ApproveIfKnownAnswerScoreIsAtLeast", "102", "from 0 to 101"),
        ("RejectIfKnownAnswerScoreIsLessThan", "102", "from 0 to 101"),
        ("ExtendIfKnownAnswerScoreIsLessThan", "102", "from 0 to 101"),
        ("ExtendMaximumAssignments", "1", "from 2 to 25"),
        ("ExtendMaximumAssignments", "26", "from 2 to 25"),
        ("ExtendMinimumTimeInSeconds", "59", "from 60 to 31536000"),
        ("ExtendMinimumTimeInSeconds", "31536001", "from 60 to 31536000"),
    ],
)
def test_out_of_range_known_answers_numbers_are_refused(key: str, value: str, bounds: str) -> None:
    message = refused(parse_assignment_policy, known_answers_wire(param(key, value)))
    assert message == f"AssignmentReviewPolicy parameter {key} must be {bounds}; got {int(value)}."


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ApproveIfKnownAnswerScoreIsAtLeast", "0"),
        ("ApproveIfKnownAnswerScoreIsAtLeast", "101"),
        ("RejectIfKnownAnswerScoreIsLessThan", "101"),
        ("ExtendMaximumAssignments", "2"),
        ("ExtendMaximumAssignments", "25"),
        ("ExtendMinimumTimeInSeconds", "60"),
        ("ExtendMinimumTimeInSeconds", "31536000"),
    ],
)
def test_range_boundaries_are_accepted(key: str, value: str) -> None:
    assert parse_assignment_policy(known_answers_wire(param(key, value))) is not None


@pytest.mark.parametrize("value", ["fifty", "5.5", "", "0x10"])
def test_numbers_must_be_whole_numbers_written_as_strings(value: str) -> None:
    message = refused(
        parse_assignment_policy, known_answers_wire(param("ApproveIfKnownAnswerScoreIsAtLeast", value))
    )
    assert message == (
        "AssignmentReviewPolicy parameter ApproveIfKnownAnswerScoreIsAtLeast must be a whole number from 0 to 101, "
        f"written as a string; got {value!r}."
    )


def test_a_number_sent_as_a_json_number_is_refused() -> None:
    message = refused(
        parse_assignment_policy, known_answers_wire(param("ApproveIfKnownAnswerScoreIsAtLeast", 80))
    )
    assert (
        message
        == "AssignmentReviewPolicy parameter ApproveIfKnownAnswerScoreIsAtLeast Values must be strings; got 80 (int)."
    )


def test_a_single_valued_parameter_takes_exactly_one_value() -> None:
    message = refused(
        parse_assignment_policy, known_answers_wire(param("ApproveIfKnownAnswerScoreIsAtLeast", "1", "2"))
    )
    assert message == (
        "AssignmentReviewPolicy parameter ApproveIfKnownAnswerScoreIsAtLeast takes exactly one value in Values; got 2."
    )
    assert "got 0" in refused(parse_assignment_policy, known_answers_wire(param("RejectReason")))


def test_unknown_parameter_is_refused_with_the_nearest_name() -> None:
    message = refused(
        parse_assignment_policy, known_answers_wire(param("ApproveIfKnownAnswerScoreIsAtleast", "80"))
    )
    assert message == (
        "AssignmentReviewPolicy parameter 'ApproveIfKnownAnswerScoreIsAtleast' is not a parameter of "
        "ScoreMyKnownAnswers/2011-09-01. Did you mean ApproveIfKnownAnswerScoreIsAtLeast?"
    )


def test_a_stray_space_in_a_parameter_name_is_shown_in_the_refusal() -> None:
    # The AWS Java SDK sample sent "ExtendMaximumAssignments " with a trailing space.
    message = refused(parse_assignment_policy, known_answers_wire(param("ExtendMaximumAssignments ", "5")))
    assert "'ExtendMaximumAssignments '" in message
    assert message.endswith("Did you mean ExtendMaximumAssignments?")


def test_a_parameter_of_the_other_policy_is_refused_naming_that_policy() -> None:
    message = refused(parse_assignment_policy, known_answers_wire(param("QuestionAgreementThreshold", "50")))
    assert message == (
        "AssignmentReviewPolicy parameter 'QuestionAgreementThreshold' is not a parameter of "
        "ScoreMyKnownAnswers/2011-09-01. It belongs to SimplePlurality/2011-09-01."
    )


def test_unrelated_unknown_parameter_lists_the_valid_ones() -> None:
    message = refused(parse_assignment_policy, known_answers_wire(param("Colour", "red")))
    assert message.endswith(
        "Its parameters are AnswerKey, ApproveIfKnownAnswerScoreIsAtLeast, ApproveReason, "
        "RejectIfKnownAnswerScoreIsLessThan, RejectReason, ExtendIfKnownAnswerScoreIsLessThan, "
        "ExtendMaximumAssignments, ExtendMinimumTimeInSeconds."
    )


def test_a_parameter_given_twice_is_refused() -> None:
    wire = known_answers_wire(param("RejectReason", "a"), param("RejectReason", "b"))
    assert refused(parse_assignment_policy, wire) == (
        "AssignmentReviewPolicy gives the parameter RejectReason more than once; give each parameter once."
    )


def test_map_entries_are_refused_on_any_parameter_but_answer_key() -> None:
    wire = known_answers_wire({"Key": "ApproveReason", "MapEntries": [{"Key": "q1", "Values": ["A"]}]})
    assert refused(parse_assignment_policy, wire) == (
        "AssignmentReviewPolicy parameter ApproveReason takes Values; only AnswerKey takes MapEntries."
    )


def test_reasons_must_fit_requester_feedback() -> None:
    too_long = refused(parse_assignment_policy, known_answers_wire(param("RejectReason", "x" * 1025)))
    assert too_long == (
        "AssignmentReviewPolicy parameter RejectReason is 1025 characters long; it becomes RequesterFeedback, "
        "which allows at most 1024."
    )
    control = refused(parse_assignment_policy, known_answers_wire(param("ApproveReason", "ok\x07")))
    assert "contains the control character '\\x07'" in control
    assert (
        parse_assignment_policy(known_answers_wire(param("RejectReason", "line one\nline two"))) is not None
    )


# ---------------------------------------------------------------------------------------------------------------
# Parsing: SimplePlurality


def test_minimal_plurality_policy_parses() -> None:
    assert parse_hit_policy(plurality_wire()) == SimplePlurality(
        question_ids=("q1",), question_agreement_threshold=50, disregard_assignment_if_rejected=True
    )


@pytest.mark.parametrize(
    "missing", ["QuestionIds", "QuestionAgreementThreshold", "DisregardAssignmentIfRejected"]
)
def test_plurality_refuses_a_missing_required_parameter(missing: str) -> None:
    wire = plurality_wire()
    wire["Parameters"] = [p for p in wire["Parameters"] if p["Key"] != missing]
    assert refused(parse_hit_policy, wire) == (
        f"HITReviewPolicy is missing the parameter {missing}, which SimplePlurality/2011-09-01 requires."
    )


def test_extending_on_low_agreement_needs_its_two_companion_parameters() -> None:
    alone = refused(parse_hit_policy, plurality_wire(param("ExtendIfHITAgreementScoreIsLessThan", "50")))
    assert alone == (
        "HITReviewPolicy parameter ExtendIfHITAgreementScoreIsLessThan needs ExtendMaximumAssignments and "
        "ExtendMinimumTimeInSeconds alongside it; ExtendMaximumAssignments and ExtendMinimumTimeInSeconds are missing."
    )
    one = refused(
        parse_hit_policy,
        plurality_wire(
            param("ExtendIfHITAgreementScoreIsLessThan", "50"), param("ExtendMaximumAssignments", "5")
        ),
    )
    assert one.endswith("; ExtendMinimumTimeInSeconds is missing.")


def test_full_plurality_policy_parses_every_parameter() -> None:
    policy = parse_hit_policy(
        plurality_wire(
            param("DisregardAssignmentIfKnownAnswerScoreIsLessThan", "60"),
            param("ExtendIfHITAgreementScoreIsLessThan", "100"),
            param("ExtendMaximumAssignments", "3"),
            param("ExtendMinimumTimeInSeconds", "86400"),
            param("ApproveIfWorkerAgreementScoreIsAtLeast", "100"),
            param("RejectIfWorkerAgreementScoreIsLessThan", "50"),
            param("RejectReason", "Disagreed with the other workers"),
            question_ids=("q1", "q2"),
        )
    )
    assert policy == SimplePlurality(
        question_ids=("q1", "q2"),
        question_agreement_threshold=50,
        disregard_assignment_if_rejected=True,
        disregard_assignment_if_known_answer_score_is_less_than=60,
        extend_if_hit_agreement_score_is_less_than=100,
        extend_maximum_assignments=3,
        extend_minimum_time_in_seconds=86400,
        approve_if_worker_agreement_score_is_at_least=100,
        reject_if_worker_agreement_score_is_less_than=50,
        reject_reason="Disagreed with the other workers",
    )


@pytest.mark.parametrize(
    ("key", "value", "bounds"),
    [
        ("QuestionAgreementThreshold", "101", "from 0 to 100"),
        ("QuestionAgreementThreshold", "-1", "from 0 to 100"),
        ("ApproveIfWorkerAgreementScoreIsAtLeast", "102", "from 0 to 101"),
        ("RejectIfWorkerAgreementScoreIsLessThan", "-5", "from 0 to 101"),
        ("DisregardAssignmentIfKnownAnswerScoreIsLessThan", "200", "from 0 to 101"),
        ("ExtendIfHITAgreementScoreIsLessThan", "0", "from 1 to 100"),
        ("ExtendIfHITAgreementScoreIsLessThan", "101", "from 1 to 100"),
    ],
)
def test_out_of_range_plurality_numbers_are_refused(key: str, value: str, bounds: str) -> None:
    wire = plurality_wire(param(key, value))
    if key == "QuestionAgreementThreshold":
        wire["Parameters"] = [p for p in wire["Parameters"] if p["Key"] != key] + [param(key, value)]
    extend = [param("ExtendMaximumAssignments", "5"), param("ExtendMinimumTimeInSeconds", "3600")]
    if key == "ExtendIfHITAgreementScoreIsLessThan":
        wire["Parameters"] += extend
    assert (
        refused(parse_hit_policy, wire)
        == f"HITReviewPolicy parameter {key} must be {bounds}; got {int(value)}."
    )


@pytest.mark.parametrize(
    ("text", "flag"), [("true", True), ("false", False), ("TRUE", True), ("T", True), ("F", False)]
)
def test_booleans_are_true_or_false_strings(text: str, flag: bool) -> None:
    wire = plurality_wire()
    wire["Parameters"][2] = param("DisregardAssignmentIfRejected", text)
    policy = parse_hit_policy(wire)
    assert policy is not None
    assert policy.disregard_assignment_if_rejected is flag


@pytest.mark.parametrize("text", ["yes", "1", ""])
def test_other_boolean_spellings_are_refused(text: str) -> None:
    wire = plurality_wire()
    wire["Parameters"][2] = param("DisregardAssignmentIfRejected", text)
    assert refused(parse_hit_policy, wire) == (
        f'HITReviewPolicy parameter DisregardAssignmentIfRejected must be "true" or "false"; got {text!r}.'
    )


def test_question_ids_may_be_separate_values_or_comma_separated() -> None:
    policy = parse_hit_policy(plurality_wire(question_ids=("q1, q2", "q3")))
    assert policy is not None
    assert policy.question_ids == ("q1", "q2", "q3")


def test_at_most_fifteen_question_ids() -> None:
    fifteen = tuple(f"q{i}" for i in range(15))
    assert parse_hit_policy(plurality_wire(question_ids=fifteen)) is not None
    message = refused(parse_hit_policy, plurality_wire(question_ids=(*fifteen, "q15")))
    assert message == "HITReviewPolicy parameter QuestionIds lists 16 question ids; at most 15 are allowed."


def test_question_ids_refuse_duplicates_and_blanks() -> None:
    assert refused(parse_hit_policy, plurality_wire(question_ids=("q1", "q1"))) == (
        "HITReviewPolicy parameter QuestionIds lists the question id 'q1' more than once."
    )
    assert refused(parse_hit_policy, plurality_wire(question_ids=("q1,,q2",))) == (
        "HITReviewPolicy parameter QuestionIds contains an empty question id in 'q1,,q2'."
    )
    assert refused(parse_hit_policy, plurality_wire(question_ids=())) == (
        "HITReviewPolicy parameter QuestionIds must list at least one question id."
    )


# ---------------------------------------------------------------------------------------------------------------
# Wire form


def test_policy_to_wire_round_trips_both_policies() -> None:
    known = parse_assignment_policy(
        known_answers_wire(
            param("RejectIfKnownAnswerScoreIsLessThan", "50"),
            param("RejectReason", "No"),
            param("ExtendIfKnownAnswerScoreIsLessThan", "50"),
            key=answer_key(q1=["A", "B"], q2=[]),
        )
    )
    plurality = parse_hit_policy(
        plurality_wire(
            param("ExtendIfHITAgreementScoreIsLessThan", "80"),
            param("ExtendMaximumAssignments", "4"),
            param("ExtendMinimumTimeInSeconds", "3600"),
            question_ids=("q1,q2",),
        )
    )
    assert known is not None and plurality is not None
    assert parse_assignment_policy(policy_to_wire(known)) == known
    assert parse_hit_policy(policy_to_wire(plurality)) == plurality


def test_policy_to_wire_leaves_out_unset_parameters_and_an_unused_default() -> None:
    policy = parse_assignment_policy(known_answers_wire())
    assert policy is not None
    assert policy_to_wire(policy) == {
        "PolicyName": "ScoreMyKnownAnswers/2011-09-01",
        "Parameters": [{"Key": "AnswerKey", "MapEntries": [{"Key": "q1", "Values": ["A"]}]}],
    }
    plurality = parse_hit_policy(plurality_wire(question_ids=("q1, q2",)))
    assert plurality is not None
    assert policy_to_wire(plurality)["Parameters"] == [
        {"Key": "QuestionIds", "Values": ["q1", "q2"]},
        {"Key": "QuestionAgreementThreshold", "Values": ["50"]},
        {"Key": "DisregardAssignmentIfRejected", "Values": ["true"]},
    ]


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)
_optional_score = st.none() | st.integers(0, 101)


@given(
    key=st.dictionaries(_names, st.lists(_names, max_size=3, unique=True).map(tuple), min_size=1, max_size=5),
    approve=_optional_score,
    reject=_optional_score,
    extend=_optional_score,
    extend_max=st.integers(2, 25),
    extend_time=st.none() | st.integers(60, 31_536_000),
    reason=st.none() | st.text(alphabet="abc XYZ.,!", max_size=20),
)
def test_any_valid_known_answers_policy_survives_the_wire(
    key: dict[str, tuple[str, ...]],
    approve: int | None,
    reject: int | None,
    extend: int | None,
    extend_max: int,
    extend_time: int | None,
    reason: str | None,
) -> None:
    policy = ScoreMyKnownAnswers(
        answer_key=key,
        approve_if_known_answer_score_is_at_least=approve,
        reject_if_known_answer_score_is_less_than=reject,
        reject_reason=reason,
        extend_if_known_answer_score_is_less_than=extend,
        extend_maximum_assignments=extend_max,
        extend_minimum_time_in_seconds=extend_time,
    )
    assert parse_assignment_policy(policy_to_wire(policy)) == policy


# ---------------------------------------------------------------------------------------------------------------
# Percentages and the extension rule


@pytest.mark.parametrize(
    ("part", "whole", "expected"), [(2, 3, 67), (1, 3, 33), (1, 8, 13), (0, 5, 0), (5, 5, 100)]
)
def test_percentages_round_half_up(part: int, whole: int, expected: int) -> None:
    assert percentage(part, whole) == expected


@given(whole=st.integers(1, 10_000), data=st.data())
def test_percentage_matches_decimal_half_up_rounding(whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(0, whole))
    exact = (Decimal(100) * part / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert percentage(part, whole) == int(exact)


@pytest.mark.parametrize(
    ("current", "maximum", "allowed"),
    [
        (1, 5, True),
        (4, 5, True),
        (5, 5, False),  # already at ExtendMaximumAssignments
        (6, 5, False),  # raised above it by hand: the policy leaves it alone
        (8, 25, True),
        (9, 25, False),  # 9 → 10 would cross into the 10+ tier
        (10, 25, True),  # a HIT that already has 10 may grow
        (24, 25, True),
        (25, 25, False),
    ],
)
def test_extension_stops_at_the_maximum_and_never_crosses_ten(
    current: int, maximum: int, allowed: bool
) -> None:
    assert extension_allowed(current, maximum) is allowed


# ---------------------------------------------------------------------------------------------------------------
# ScoreMyKnownAnswers


def known(key: dict[str, list[str]], **thresholds: Any) -> ScoreMyKnownAnswers:
    return ScoreMyKnownAnswers(answer_key={q: tuple(v) for q, v in key.items()}, **thresholds)


def score(policy: ScoreMyKnownAnswers, answers: dict[str, Any], current_max_assignments: int = 1) -> Any:
    return evaluate_known_answers(
        policy, answers, assignment_id=ASSIGNMENT, hit_id=HIT, current_max_assignments=current_max_assignments
    )


THREE = {"q1": ["A"], "q2": ["B"], "q3": ["C"]}


def test_two_of_three_known_answers_score_67() -> None:
    outcome = score(known(THREE), {"q1": "A", "q2": "B", "q3": "wrong"})
    assert (outcome.score, outcome.correct_count, outcome.total_count) == (67, 2, 3)
    assert outcome.question_correct == {"q1": True, "q2": True, "q3": False}


def test_one_of_eight_rounds_half_up_to_13() -> None:
    key = {f"q{i}": ["x"] for i in range(8)}
    assert score(known(key), {"q0": "x"}).score == 13


def test_surrounding_whitespace_is_trimmed_on_both_sides() -> None:
    policy = parse_assignment_policy(known_answers_wire(key=answer_key(q1=["  Paris "])))
    assert policy is not None
    assert score(policy, {"q1": "\tParis\n"}).score == 100
    assert score(policy, {"q1": "Par is"}).score == 0


@pytest.mark.parametrize("answer", ["paris", "Paris.", "PARIS", "Paris!"])
def test_matching_is_case_and_punctuation_sensitive(answer: str) -> None:
    assert score(known({"q1": ["Paris"]}), {"q1": answer}).score == 0


def test_multi_value_answers_match_as_a_set_in_any_order() -> None:
    policy = known({"colours": ["red", "blue"]})
    assert score(policy, {"colours": {"blue", "red"}}).score == 100
    assert score(policy, {"colours": [" red", "blue "]}).score == 100


@pytest.mark.parametrize("answer", [{"red"}, {"red", "blue", "green"}, "red", "red|blue"])
def test_a_subset_or_superset_of_the_key_is_wrong(answer: Any) -> None:
    assert score(known({"colours": ["red", "blue"]}), {"colours": answer}).score == 0


def test_blank_against_non_blank_is_wrong_both_ways() -> None:
    assert score(known({"q1": ["A"]}), {"q1": "   "}).score == 0
    assert score(known({"q1": ["A"]}), {"q1": set()}).score == 0
    assert score(known({"q1": []}), {"q1": "A"}).score == 0
    assert score(known({"q1": []}), {"q1": ""}).score == 100


def test_a_question_missing_from_the_answers_counts_as_wrong() -> None:
    outcome = score(known(THREE), {"q1": "A", "q2": "B"})
    assert outcome.score == 67
    assert outcome.question_correct["q3"] is False
    assert score(known({"q1": []}), {}).score == 0


def test_answers_to_questions_outside_the_key_are_ignored() -> None:
    assert score(known({"q1": ["A"]}), {"q1": "A", "free_text": "anything"}).score == 100


def test_known_answer_results_use_mturk_keys() -> None:
    outcome = score(known(THREE), {"q1": "A", "q2": "B", "q3": "x"})
    assert [r.to_wire() for r in outcome.results] == [
        {
            "SubjectId": ASSIGNMENT,
            "SubjectType": "Assignment",
            "QuestionId": "q1",
            "Key": "KnownAnswerCorrect",
            "Value": "true",
        },
        {
            "SubjectId": ASSIGNMENT,
            "SubjectType": "Assignment",
            "QuestionId": "q2",
            "Key": "KnownAnswerCorrect",
            "Value": "true",
        },
        {
            "SubjectId": ASSIGNMENT,
            "SubjectType": "Assignment",
            "QuestionId": "q3",
            "Key": "KnownAnswerCorrect",
            "Value": "false",
        },
        {"SubjectId": ASSIGNMENT, "SubjectType": "Assignment", "Key": "KnownAnswerScore", "Value": "67"},
        {"SubjectId": ASSIGNMENT, "SubjectType": "Assignment", "Key": "KnownAnswerCorrect", "Value": "2"},
        {"SubjectId": ASSIGNMENT, "SubjectType": "Assignment", "Key": "KnownAnswerTotal", "Value": "3"},
    ]


def test_no_thresholds_means_no_actions() -> None:
    assert score(known(THREE), {}).actions == ()


def test_approves_when_the_score_reaches_the_approve_threshold() -> None:
    policy = known(THREE, approve_if_known_answer_score_is_at_least=67, approve_reason="Thanks")
    assert score(policy, {"q1": "A", "q2": "B"}).actions == (
        IntendedAction("Approve", ASSIGNMENT, "Assignment", "Thanks"),
    )
    assert score(policy, {"q1": "A"}).actions == ()


def test_approve_threshold_101_never_approves_and_0_always_does() -> None:
    assert (
        score(
            known(THREE, approve_if_known_answer_score_is_at_least=101), {"q1": "A", "q2": "B", "q3": "C"}
        ).actions
        == ()
    )
    assert (
        score(known(THREE, approve_if_known_answer_score_is_at_least=0), {}).actions[0].action_name
        == "Approve"
    )


def test_rejects_only_below_the_reject_threshold_with_the_reject_reason() -> None:
    policy = known(THREE, reject_if_known_answer_score_is_less_than=67, reject_reason="Known answers wrong")
    assert score(policy, {"q1": "A"}).actions == (
        IntendedAction("Reject", ASSIGNMENT, "Assignment", "Known answers wrong"),
    )
    assert score(policy, {"q1": "A", "q2": "B"}).actions == ()


def test_reject_without_a_reason_leaves_the_reason_empty() -> None:
    outcome = score(
        known(THREE, reject_if_known_answer_score_is_less_than=101), {"q1": "A", "q2": "B", "q3": "C"}
    )
    assert outcome.actions == (IntendedAction("Reject", ASSIGNMENT, "Assignment", None),)


def test_approval_wins_when_both_thresholds_fire() -> None:
    policy = known(
        THREE, approve_if_known_answer_score_is_at_least=50, reject_if_known_answer_score_is_less_than=80
    )
    assert [a.action_name for a in score(policy, {"q1": "A", "q2": "B"}).actions] == ["Approve"]


def test_extends_the_hit_by_one_assignment_below_the_extend_threshold() -> None:
    policy = known(
        THREE, reject_if_known_answer_score_is_less_than=50, extend_if_known_answer_score_is_less_than=50
    )
    outcome = score(policy, {"q1": "A"}, current_max_assignments=3)
    assert outcome.actions == (
        IntendedAction("Reject", ASSIGNMENT, "Assignment", None),
        IntendedAction("Extend", HIT, "HIT", None),
    )
    assert score(policy, {"q1": "A", "q2": "B"}, current_max_assignments=3).actions == ()


def test_known_answer_extension_is_blocked_at_the_ten_assignment_boundary() -> None:
    policy = known(THREE, extend_if_known_answer_score_is_less_than=101, extend_maximum_assignments=25)
    assert score(policy, {}, current_max_assignments=9).actions == ()
    assert score(policy, {}, current_max_assignments=10).actions == (IntendedAction("Extend", HIT, "HIT"),)


def test_known_answer_extension_is_blocked_at_extend_maximum_assignments() -> None:
    policy = known(THREE, extend_if_known_answer_score_is_less_than=101)  # default maximum: 5
    assert score(policy, {}, current_max_assignments=4).actions == (IntendedAction("Extend", HIT, "HIT"),)
    assert score(policy, {}, current_max_assignments=5).actions == ()


_answer = st.one_of(
    st.text(alphabet="AB ", max_size=3), st.frozensets(st.sampled_from(["A", "B", " A", ""]), max_size=3)
)


@given(
    key=st.dictionaries(
        _names, st.lists(st.sampled_from(["A", "B"]), max_size=2).map(tuple), min_size=1, max_size=6
    ),
    answers=st.dictionaries(_names, _answer, max_size=6),
)
def test_known_answer_scores_are_always_between_0_and_100(
    key: dict[str, tuple[str, ...]], answers: dict[str, Any]
) -> None:
    outcome = evaluate_known_answers(
        ScoreMyKnownAnswers(answer_key=key), answers, assignment_id="A", hit_id="H", current_max_assignments=1
    )
    assert 0 <= outcome.score <= 100
    assert outcome.score == percentage(sum(outcome.question_correct.values()), len(key))


def test_a_non_string_answer_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        score(known(THREE), {"q1": 5})


# ---------------------------------------------------------------------------------------------------------------
# SimplePlurality


def plurality(
    question_ids: tuple[str, ...] = ("q1",), threshold: int = 50, **options: Any
) -> SimplePlurality:
    options.setdefault("disregard_assignment_if_rejected", True)
    return SimplePlurality(question_ids=question_ids, question_agreement_threshold=threshold, **options)


def asg(
    n: int, status: str = "Submitted", known_answer_score: int | None = None, **answers: Any
) -> AssignmentAnswers:
    return AssignmentAnswers(f"ASG{n}", f"AW{n}", status, answers, known_answer_score)  # type: ignore[arg-type]


def review(policy: SimplePlurality, *assignments: AssignmentAnswers, current_max_assignments: int = 3) -> Any:
    return evaluate_plurality(policy, assignments, current_max_assignments, hit_id=HIT)


def test_three_workers_agreeing_two_to_one() -> None:
    outcome = review(plurality(), asg(1, q1="cat"), asg(2, q1="cat"), asg(3, q1="dog"))
    (question,) = outcome.questions
    assert question.plurality_answer == frozenset({"cat"})
    assert (question.votes, question.considered, question.agreement_score, question.agrees) == (
        2,
        3,
        67,
        True,
    )
    assert outcome.hit_agreement_score == 100
    assert outcome.worker_agreement_scores == {"ASG1": 100, "ASG2": 100, "ASG3": 0}


def test_the_mturk_documentation_example_with_rounded_percentages() -> None:
    # MTurk's HIT Review Policies page: 4 questions, 3 workers. MTurk prints truncated 66%; Kempelen rounds to 67.
    policy = plurality(("A", "B", "C", "D"), threshold=50)
    outcome = review(
        policy,
        asg(1, A="coat", B="blue", C="large", D="Furry"),
        asg(2, A="sweater", B="blue", C="large", D="fur"),
        asg(3, A="coat", B="green", C="large", D="furr"),
    )
    assert [q.agreement_score for q in outcome.questions] == [67, 67, 100, None]
    assert [q.agrees for q in outcome.questions] == [True, True, True, False]
    assert outcome.hit_agreement_score == 75
    assert outcome.worker_agreement_scores == {"ASG1": 100, "ASG2": 67, "ASG3": 67}


def test_a_tie_has_no_plurality_answer_and_does_not_agree() -> None:
    outcome = review(plurality(threshold=0), asg(1, q1="cat"), asg(2, q1="dog"))
    (question,) = outcome.questions
    assert (question.plurality_answer, question.agreement_score, question.agrees) == (None, None, False)
    assert outcome.hit_agreement_score == 0
    assert [r.key for r in outcome.results] == ["HITAgreementScore"]


def test_a_tie_below_a_clear_leader_does_not_matter() -> None:
    outcome = review(plurality(), asg(1, q1="a"), asg(2, q1="a"), asg(3, q1="b"), asg(4, q1="c"))
    assert outcome.questions[0].plurality_answer == frozenset({"a"})
    assert outcome.questions[0].agreement_score == 50


def test_the_agreement_threshold_is_inclusive() -> None:
    assignments = (asg(1, q1="x"), asg(2, q1="x"), asg(3, q1="y"))
    assert review(plurality(threshold=67), *assignments).questions[0].agrees is True
    assert review(plurality(threshold=68), *assignments).questions[0].agrees is False


def test_rejected_assignments_are_disregarded_when_asked() -> None:
    assignments = (asg(1, q1="x"), asg(2, "Rejected", q1="y"), asg(3, "Rejected", q1="y"))
    dropped = review(plurality(disregard_assignment_if_rejected=True), *assignments)
    assert dropped.disregarded_assignment_ids == ("ASG2", "ASG3")
    assert dropped.questions[0].plurality_answer == frozenset({"x"})
    assert dropped.questions[0].agreement_score == 100
    assert set(dropped.worker_agreement_scores) == {"ASG1"}

    kept = review(plurality(disregard_assignment_if_rejected=False), *assignments)
    assert kept.disregarded_assignment_ids == ()
    assert kept.questions[0].plurality_answer == frozenset({"y"})


def test_assignments_with_a_low_known_answer_score_are_disregarded() -> None:
    policy = plurality(disregard_assignment_if_known_answer_score_is_less_than=50)
    outcome = review(
        policy,
        asg(1, known_answer_score=100, q1="x"),
        asg(2, known_answer_score=49, q1="y"),
        asg(3, known_answer_score=10, q1="y"),
        asg(4, known_answer_score=None, q1="x"),  # no score: nothing to disregard it for
    )
    assert outcome.disregarded_assignment_ids == ("ASG2", "ASG3")
    assert outcome.questions[0].plurality_answer == frozenset({"x"})


def test_answers_longer_than_256_characters_are_ignored() -> None:
    long = "z" * 257
    outcome = review(plurality(), asg(1, q1=long), asg(2, q1=long), asg(3, q1="short"))
    question = outcome.questions[0]
    assert question.plurality_answer == frozenset({"short"})
    assert (question.votes, question.considered, question.agreement_score, question.agrees) == (
        1,
        3,
        33,
        False,
    )
    exactly = "z" * 256
    assert review(plurality(), asg(1, q1=exactly), asg(2, q1=exactly)).questions[0].agreement_score == 100


def test_blank_or_missing_answers_do_not_vote_but_still_count() -> None:
    outcome = review(plurality(), asg(1, q1="x"), asg(2, q1="  "), asg(3), asg(4, q1=" x "))
    question = outcome.questions[0]
    assert (question.plurality_answer, question.votes, question.considered) == (frozenset({"x"}), 2, 4)
    assert question.agreement_score == 50


def test_multi_value_answers_vote_as_sets() -> None:
    outcome = review(plurality(), asg(1, q1={"b", "a"}), asg(2, q1=["a", "b"]), asg(3, q1={"a"}))
    assert outcome.questions[0].plurality_answer == frozenset({"a", "b"})
    assert ReviewResult(HIT, "HIT", "q1", "PluralityAnswer", "a|b") in outcome.results


def test_worker_agreement_counts_only_agreeing_questions() -> None:
    policy = plurality(("q1", "q2", "q3"), threshold=60)
    outcome = review(
        policy,
        asg(1, q1="a", q2="a", q3="a"),
        asg(2, q1="a", q2="b", q3="b"),
        asg(3, q1="a", q2="a", q3="c"),
    )
    # q1 (100) and q2 (67) agree; q3 has no plurality.
    assert [q.agrees for q in outcome.questions] == [True, True, False]
    assert outcome.hit_agreement_score == 67
    assert outcome.worker_agreement_scores == {"ASG1": 100, "ASG2": 50, "ASG3": 100}


def test_no_agreeing_question_means_no_worker_score_and_no_judgement() -> None:
    policy = plurality(
        approve_if_worker_agreement_score_is_at_least=0, reject_if_worker_agreement_score_is_less_than=101
    )
    outcome = review(policy, asg(1, q1="a"), asg(2, q1="b"))
    assert outcome.worker_agreement_scores == {"ASG1": None, "ASG2": None}
    assert outcome.actions == ()


def test_approves_and_rejects_by_worker_agreement() -> None:
    policy = plurality(
        ("q1", "q2"),
        approve_if_worker_agreement_score_is_at_least=100,
        reject_if_worker_agreement_score_is_less_than=50,
        reject_reason="Disagreed with the majority",
    )
    outcome = review(
        policy,
        asg(1, q1="a", q2="a"),
        asg(2, q1="a", q2="a"),
        asg(3, q1="a", q2="b"),  # 50: neither approved nor rejected
        asg(4, q1="b", q2="b"),  # 0: rejected
        asg(5, q1="a", q2="a"),
    )
    assert outcome.actions == (
        IntendedAction("Approve", "ASG1", "Assignment"),
        IntendedAction("Approve", "ASG2", "Assignment"),
        IntendedAction("Reject", "ASG4", "Assignment", "Disagreed with the majority"),
        IntendedAction("Approve", "ASG5", "Assignment"),
    )


def test_only_submitted_assignments_are_acted_on() -> None:
    policy = plurality(
        disregard_assignment_if_rejected=False,
        approve_if_worker_agreement_score_is_at_least=100,
        reject_if_worker_agreement_score_is_less_than=100,
    )
    outcome = review(
        policy,
        asg(1, "Approved", q1="a"),
        asg(2, q1="a"),
        asg(3, "Rejected", q1="a"),
        asg(4, "Approved", q1="b"),
    )
    assert outcome.worker_agreement_scores == {"ASG1": 100, "ASG2": 100, "ASG3": 100, "ASG4": 0}
    assert outcome.actions == (IntendedAction("Approve", "ASG2", "Assignment"),)


def extending(**options: Any) -> SimplePlurality:
    options.setdefault("extend_maximum_assignments", 25)
    return plurality(
        extend_if_hit_agreement_score_is_less_than=100, extend_minimum_time_in_seconds=3600, **options
    )


def test_extends_when_hit_agreement_is_below_the_threshold() -> None:
    tie = (asg(1, q1="a"), asg(2, q1="b"))
    assert review(extending(), *tie, current_max_assignments=2).actions == (
        IntendedAction("Extend", HIT, "HIT"),
    )
    agreed = (asg(1, q1="a"), asg(2, q1="a"))
    assert review(extending(), *agreed, current_max_assignments=2).actions == ()


def test_plurality_extension_is_blocked_at_the_ten_assignment_boundary() -> None:
    tie = (asg(1, q1="a"), asg(2, q1="b"))
    assert review(extending(), *tie, current_max_assignments=9).actions == ()
    assert review(extending(), *tie, current_max_assignments=10).actions == (
        IntendedAction("Extend", HIT, "HIT"),
    )


def test_plurality_extension_is_blocked_at_extend_maximum_assignments() -> None:
    tie = (asg(1, q1="a"), asg(2, q1="b"))
    policy = extending(extend_maximum_assignments=3)
    assert review(policy, *tie, current_max_assignments=2).actions == (IntendedAction("Extend", HIT, "HIT"),)
    assert review(policy, *tie, current_max_assignments=3).actions == ()


def test_plurality_results_use_mturk_keys_and_subjects() -> None:
    outcome = review(plurality(("q1", "q2")), asg(1, q1="a", q2="x"), asg(2, q1="a", q2="y"))
    assert [r.to_wire() for r in outcome.results] == [
        {"SubjectId": HIT, "SubjectType": "HIT", "QuestionId": "q1", "Key": "PluralityAnswer", "Value": "a"},
        {
            "SubjectId": HIT,
            "SubjectType": "HIT",
            "QuestionId": "q1",
            "Key": "QuestionAgreementScore",
            "Value": "100",
        },
        {"SubjectId": HIT, "SubjectType": "HIT", "Key": "HITAgreementScore", "Value": "50"},
        {
            "SubjectId": "ASG1",
            "SubjectType": "Assignment",
            "QuestionId": "q1",
            "Key": "AgreedWithPlurality",
            "Value": "true",
        },
        {"SubjectId": "ASG1", "SubjectType": "Assignment", "Key": "WorkerAgreementScore", "Value": "100"},
        {
            "SubjectId": "ASG2",
            "SubjectType": "Assignment",
            "QuestionId": "q1",
            "Key": "AgreedWithPlurality",
            "Value": "true",
        },
        {"SubjectId": "ASG2", "SubjectType": "Assignment", "Key": "WorkerAgreementScore", "Value": "100"},
    ]


def test_no_considered_assignments_gives_zero_hit_agreement() -> None:
    outcome = review(plurality(), asg(1, "Rejected", q1="a"))
    assert outcome.hit_agreement_score == 0
    assert outcome.worker_agreement_scores == {}


def test_intended_actions_serialise_to_review_action_members() -> None:
    assert IntendedAction("Extend", HIT, "HIT").to_wire() == {
        "ActionName": "Extend",
        "TargetId": HIT,
        "TargetType": "HIT",
    }


def test_an_unknown_assignment_status_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="status 'Accepted'"):
        review(plurality(), asg(1, "Accepted", q1="a"))
    with pytest.raises(ValueError, match="listed twice"):
        review(plurality(), asg(1, q1="a"), asg(1, q1="a"))


_assignment_strategy = st.builds(
    AssignmentAnswers,
    assignment_id=st.uuids().map(str),
    worker_id=st.just("AW"),
    status=st.sampled_from(["Submitted", "Approved", "Rejected"]),
    answers=st.dictionaries(st.sampled_from(["q1", "q2", "q3"]), _answer | st.just("x" * 300), max_size=3),
    known_answer_score=st.none() | st.integers(0, 100),
)


@given(
    assignments=st.lists(_assignment_strategy, max_size=8, unique_by=lambda a: a.assignment_id),
    threshold=st.integers(0, 100),
    disregard_rejected=st.booleans(),
    disregard_below=_optional_score,
    current_max=st.integers(1, 30),
)
def test_plurality_scores_are_always_between_0_and_100(
    assignments: list[AssignmentAnswers],
    threshold: int,
    disregard_rejected: bool,
    disregard_below: int | None,
    current_max: int,
) -> None:
    policy = SimplePlurality(
        question_ids=("q1", "q2", "q3"),
        question_agreement_threshold=threshold,
        disregard_assignment_if_rejected=disregard_rejected,
        disregard_assignment_if_known_answer_score_is_less_than=disregard_below,
        extend_if_hit_agreement_score_is_less_than=100,
        extend_maximum_assignments=25,
        extend_minimum_time_in_seconds=3600,
        approve_if_worker_agreement_score_is_at_least=80,
        reject_if_worker_agreement_score_is_less_than=50,
    )
    outcome = evaluate_plurality(policy, assignments, current_max, hit_id="H")
    assert 0 <= outcome.hit_agreement_score <= 100
    for question in outcome.questions:
        assert question.agreement_score is None or 0 <= question.agreement_score <= 100
        assert question.votes <= question.considered
    for worker_score in outcome.worker_agreement_scores.values():
        assert worker_score is None or 0 <= worker_score <= 100
    acted_on = [a.target_id for a in outcome.actions if a.target_type == "Assignment"]
    submitted = {a.assignment_id for a in assignments if a.status == "Submitted"}
    assert set(acted_on) <= submitted
    assert len(acted_on) == len(set(acted_on))
