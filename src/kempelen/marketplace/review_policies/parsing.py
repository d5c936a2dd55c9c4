"""Parsing and validating review policies from their wire form, and writing them back."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kempelen.core.errors import InvalidParameter

from .definitions import (
    _BOOLEANS,
    _FORBIDDEN_FEEDBACK_CHARS,
    _INTEGER,
    ASSIGNMENT_REVIEW_POLICY,
    DEFAULT_EXTEND_MAXIMUM_ASSIGNMENTS,
    HIT_REVIEW_POLICY,
    MAX_QUESTION_IDS,
    MAX_REASON_CHARS,
    SCORE_MY_KNOWN_ANSWERS,
    SIMPLE_PLURALITY,
    ReviewPolicy,
    ScoreMyKnownAnswers,
    SimplePlurality,
)
from .scoring import _flag


@dataclass(frozen=True)
class _Param:
    kind: Literal["int", "bool", "text", "question_ids", "answer_key"]
    low: int = 0
    high: int = 0


_SCORE = _Param("int", 0, 101)
_EXTEND_MAXIMUM_ASSIGNMENTS = _Param("int", 2, 25)
# Sources disagree on the lower bound (legacy docs: 3,600; the legacy ExtendHIT increment and mturkemu: 60).
# Kempelen accepts the looser 60 s so that no policy MTurk might have accepted is refused here.
_EXTEND_MINIMUM_TIME = _Param("int", 60, 31_536_000)

_SCORE_MY_KNOWN_ANSWERS_PARAMS: dict[str, _Param] = {
    "AnswerKey": _Param("answer_key"),
    "ApproveIfKnownAnswerScoreIsAtLeast": _SCORE,
    "ApproveReason": _Param("text"),
    "RejectIfKnownAnswerScoreIsLessThan": _SCORE,
    "RejectReason": _Param("text"),
    "ExtendIfKnownAnswerScoreIsLessThan": _SCORE,
    "ExtendMaximumAssignments": _EXTEND_MAXIMUM_ASSIGNMENTS,
    "ExtendMinimumTimeInSeconds": _EXTEND_MINIMUM_TIME,
}

_SIMPLE_PLURALITY_PARAMS: dict[str, _Param] = {
    "QuestionIds": _Param("question_ids"),
    "QuestionAgreementThreshold": _Param("int", 0, 100),
    "DisregardAssignmentIfRejected": _Param("bool"),
    "DisregardAssignmentIfKnownAnswerScoreIsLessThan": _SCORE,
    "ExtendIfHITAgreementScoreIsLessThan": _Param("int", 1, 100),
    "ExtendMaximumAssignments": _EXTEND_MAXIMUM_ASSIGNMENTS,
    "ExtendMinimumTimeInSeconds": _EXTEND_MINIMUM_TIME,
    "ApproveIfWorkerAgreementScoreIsAtLeast": _SCORE,
    "RejectIfWorkerAgreementScoreIsLessThan": _SCORE,
    "RejectReason": _Param("text"),
}

_PARAMS_BY_POLICY = {
    SCORE_MY_KNOWN_ANSWERS: _SCORE_MY_KNOWN_ANSWERS_PARAMS,
    SIMPLE_PLURALITY: _SIMPLE_PLURALITY_PARAMS,
}


def parse_assignment_policy(policy: Mapping[str, Any] | None) -> ScoreMyKnownAnswers | None:
    """Validate a CreateHIT ``AssignmentReviewPolicy``; ``None`` (no policy) stays ``None``.

    Refuses, with :class:`InvalidParameter`, anything but a complete, well-formed
    ``ScoreMyKnownAnswers/2011-09-01``.
    """
    if policy is None:
        return None
    values = _parse_policy(policy, ASSIGNMENT_REVIEW_POLICY, SCORE_MY_KNOWN_ANSWERS)
    _require(values, ASSIGNMENT_REVIEW_POLICY, "AnswerKey")
    return ScoreMyKnownAnswers(
        answer_key=values["AnswerKey"],
        approve_if_known_answer_score_is_at_least=values.get("ApproveIfKnownAnswerScoreIsAtLeast"),
        approve_reason=values.get("ApproveReason"),
        reject_if_known_answer_score_is_less_than=values.get("RejectIfKnownAnswerScoreIsLessThan"),
        reject_reason=values.get("RejectReason"),
        extend_if_known_answer_score_is_less_than=values.get("ExtendIfKnownAnswerScoreIsLessThan"),
        extend_maximum_assignments=values.get("ExtendMaximumAssignments", DEFAULT_EXTEND_MAXIMUM_ASSIGNMENTS),
        extend_minimum_time_in_seconds=values.get("ExtendMinimumTimeInSeconds"),
    )


def parse_hit_policy(policy: Mapping[str, Any] | None) -> SimplePlurality | None:
    """Validate a CreateHIT ``HITReviewPolicy``; ``None`` (no policy) stays ``None``.

    Refuses, with :class:`InvalidParameter`, anything but a complete, well-formed ``SimplePlurality/2011-09-01``.
    """
    if policy is None:
        return None
    values = _parse_policy(policy, HIT_REVIEW_POLICY, SIMPLE_PLURALITY)
    for key in ("QuestionIds", "QuestionAgreementThreshold", "DisregardAssignmentIfRejected"):
        _require(values, HIT_REVIEW_POLICY, key)
    if "ExtendIfHITAgreementScoreIsLessThan" in values:
        # MTurk documents both as "Required if ExtendIfHITAgreementScoreIsLessThan is provided".
        missing = [k for k in ("ExtendMaximumAssignments", "ExtendMinimumTimeInSeconds") if k not in values]
        if missing:
            raise InvalidParameter(
                f"{HIT_REVIEW_POLICY} parameter ExtendIfHITAgreementScoreIsLessThan needs ExtendMaximumAssignments "
                f"and ExtendMinimumTimeInSeconds alongside it; {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing."
            )
    return SimplePlurality(
        question_ids=values["QuestionIds"],
        question_agreement_threshold=values["QuestionAgreementThreshold"],
        disregard_assignment_if_rejected=values["DisregardAssignmentIfRejected"],
        disregard_assignment_if_known_answer_score_is_less_than=values.get(
            "DisregardAssignmentIfKnownAnswerScoreIsLessThan"
        ),
        extend_if_hit_agreement_score_is_less_than=values.get("ExtendIfHITAgreementScoreIsLessThan"),
        extend_maximum_assignments=values.get("ExtendMaximumAssignments", DEFAULT_EXTEND_MAXIMUM_ASSIGNMENTS),
        extend_minimum_time_in_seconds=values.get("ExtendMinimumTimeInSeconds"),
        approve_if_worker_agreement_score_is_at_least=values.get("ApproveIfWorkerAgreementScoreIsAtLeast"),
        reject_if_worker_agreement_score_is_less_than=values.get("RejectIfWorkerAgreementScoreIsLessThan"),
        reject_reason=values.get("RejectReason"),
    )


def _require(values: Mapping[str, Any], where: str, key: str) -> None:
    if key not in values:
        policy_name = SCORE_MY_KNOWN_ANSWERS if where == ASSIGNMENT_REVIEW_POLICY else SIMPLE_PLURALITY
        raise InvalidParameter(f"{where} is missing the parameter {key}, which {policy_name} requires.")


def _parse_policy(policy: Mapping[str, Any], where: str, expected_name: str) -> dict[str, Any]:
    """Check the ReviewPolicy envelope and every parameter; return wire key → parsed value."""
    if not isinstance(policy, Mapping):
        raise InvalidParameter(f"{where} must be an object with PolicyName and Parameters.")
    extra = sorted(set(policy) - {"PolicyName", "Parameters"})
    if extra:
        raise InvalidParameter(
            f"{where} has unknown member {extra[0]!r}; a review policy has only PolicyName and Parameters."
        )
    name = policy.get("PolicyName")
    if name is None:
        raise InvalidParameter(f"{where}.PolicyName is required; use {expected_name}.")
    if name != expected_name:
        raise InvalidParameter(_wrong_policy_message(where, name, expected_name))
    parameters = policy.get("Parameters")
    if parameters is None:
        parameters = []
    if not isinstance(parameters, list | tuple):
        raise InvalidParameter(f"{where}.Parameters must be a list of {{Key, Values}} objects.")

    specs = _PARAMS_BY_POLICY[expected_name]
    values: dict[str, Any] = {}
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, Mapping):
            raise InvalidParameter(f"{where}.Parameters[{index}] must be an object with Key and Values.")
        extra = sorted(set(parameter) - {"Key", "Values", "MapEntries"})
        if extra:
            raise InvalidParameter(
                f"{where}.Parameters[{index}] has unknown member {extra[0]!r}; a parameter has Key, Values "
                "and (for AnswerKey only) MapEntries."
            )
        key = parameter.get("Key")
        if not isinstance(key, str) or not key:
            raise InvalidParameter(
                f"{where}.Parameters[{index}] has no Key; every parameter needs its name in Key."
            )
        spec = specs.get(key)
        if spec is None:
            raise InvalidParameter(_unknown_key_message(where, key, expected_name))
        if key in values:
            raise InvalidParameter(
                f"{where} gives the parameter {key} more than once; give each parameter once."
            )
        values[key] = _parse_parameter(where, key, spec, parameter)
    return values


def _wrong_policy_message(where: str, name: object, expected_name: str) -> str:
    other_where, other_name = (
        (HIT_REVIEW_POLICY, SIMPLE_PLURALITY)
        if where == ASSIGNMENT_REVIEW_POLICY
        else (ASSIGNMENT_REVIEW_POLICY, SCORE_MY_KNOWN_ANSWERS)
    )
    if name == other_name:
        return (
            f"{where}.PolicyName {name} is a policy for {other_where}, not {where}; "
            f"{where} takes {expected_name}."
        )
    hint = ""
    if isinstance(name, str) and difflib.get_close_matches(name, [expected_name], n=1, cutoff=0.6):
        hint = f" Did you mean {expected_name}?"
    return f"{where}.PolicyName {name!r} is not a review policy Kempelen knows; {where} takes {expected_name}.{hint}"


def _unknown_key_message(where: str, key: str, policy_name: str) -> str:
    message = f"{where} parameter {key!r} is not a parameter of {policy_name}."
    other_name = SIMPLE_PLURALITY if policy_name == SCORE_MY_KNOWN_ANSWERS else SCORE_MY_KNOWN_ANSWERS
    if key in _PARAMS_BY_POLICY[other_name]:
        return f"{message} It belongs to {other_name}."
    close = difflib.get_close_matches(key, list(_PARAMS_BY_POLICY[policy_name]), n=1, cutoff=0.6)
    if close:
        return f"{message} Did you mean {close[0]}?"
    return f"{message} Its parameters are {', '.join(_PARAMS_BY_POLICY[policy_name])}."


def _parse_parameter(where: str, key: str, spec: _Param, parameter: Mapping[str, Any]) -> Any:
    label = f"{where} parameter {key}"
    map_entries = parameter.get("MapEntries")
    raw_values = parameter.get("Values")
    if spec.kind == "answer_key":
        if raw_values:
            raise InvalidParameter(f"{label} takes MapEntries (question id → Values), not Values.")
        return _parse_answer_key(label, map_entries)
    if map_entries:
        raise InvalidParameter(f"{label} takes Values; only AnswerKey takes MapEntries.")
    if raw_values is None:
        raise InvalidParameter(f"{label} has no Values.")
    if not isinstance(raw_values, list | tuple):
        raise InvalidParameter(f"{label} Values must be a list of strings.")
    for raw in raw_values:
        if not isinstance(raw, str):
            raise InvalidParameter(f"{label} Values must be strings; got {raw!r} ({type(raw).__name__}).")
    if spec.kind == "question_ids":
        return _parse_question_ids(label, raw_values)
    if len(raw_values) != 1:
        raise InvalidParameter(f"{label} takes exactly one value in Values; got {len(raw_values)}.")
    raw = raw_values[0]
    if spec.kind == "text":
        return _parse_reason(label, raw)
    if spec.kind == "bool":
        flag = _BOOLEANS.get(raw.strip().lower())
        if flag is None:
            raise InvalidParameter(f'{label} must be "true" or "false"; got {raw!r}.')
        return flag
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise InvalidParameter(
            f"{label} must be a whole number from {spec.low} to {spec.high}, written as a string; got {raw!r}."
        )
    number = int(text)
    if not spec.low <= number <= spec.high:
        raise InvalidParameter(f"{label} must be from {spec.low} to {spec.high}; got {number}.")
    return number


def _parse_reason(label: str, raw: str) -> str:
    if len(raw) > MAX_REASON_CHARS:
        raise InvalidParameter(
            f"{label} is {len(raw)} characters long; it becomes RequesterFeedback, which allows at most "
            f"{MAX_REASON_CHARS}."
        )
    bad = _FORBIDDEN_FEEDBACK_CHARS.search(raw)
    if bad:
        raise InvalidParameter(
            f"{label} contains the control character {bad.group()!r}; it becomes RequesterFeedback, which refuses "
            "ASCII 0-8, 11, 12 and 14-31."
        )
    return raw


def _parse_question_ids(label: str, raw_values: Sequence[str]) -> tuple[str, ...]:
    # MTurk documents QuestionIds as "a comma-separated list"; the 2017 API carries a list of Values. Both shapes
    # (and a mix) are accepted, so commas cannot appear inside a question id used here.
    ids: list[str] = []
    for raw in raw_values:
        for part in raw.split(","):
            question_id = part.strip()
            if not question_id:
                raise InvalidParameter(f"{label} contains an empty question id in {raw!r}.")
            if question_id in ids:
                raise InvalidParameter(f"{label} lists the question id {question_id!r} more than once.")
            ids.append(question_id)
    if not ids:
        raise InvalidParameter(f"{label} must list at least one question id.")
    if len(ids) > MAX_QUESTION_IDS:
        raise InvalidParameter(
            f"{label} lists {len(ids)} question ids; at most {MAX_QUESTION_IDS} are allowed."
        )
    return tuple(ids)


def _parse_answer_key(label: str, map_entries: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(map_entries, list | tuple) or not map_entries:
        raise InvalidParameter(
            f"{label} needs MapEntries: one {{Key: question id, Values: [answers]}} per known answer."
        )
    key: dict[str, tuple[str, ...]] = {}
    for index, entry in enumerate(map_entries):
        where = f"{label} MapEntries[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidParameter(f"{where} must be an object with Key and Values.")
        extra = sorted(set(entry) - {"Key", "Values"})
        if extra:
            raise InvalidParameter(
                f"{where} has unknown member {extra[0]!r}; a map entry has only Key and Values."
            )
        question_id = entry.get("Key")
        if not isinstance(question_id, str) or not question_id.strip():
            raise InvalidParameter(f"{where} needs the question id in Key.")
        question_id = question_id.strip()
        if question_id in key:
            raise InvalidParameter(f"{label} gives question {question_id!r} more than once.")
        values = entry.get("Values", [])
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise InvalidParameter(f"{where} (question {question_id!r}) Values must be a list of strings.")
        # Trimmed like the workers' answers; blanks dropped so [""] and [] both mean "the answer is blank".
        trimmed = (v.strip() for v in values)
        key[question_id] = tuple(dict.fromkeys(v for v in trimmed if v))
    return key


def policy_to_wire(policy: ReviewPolicy) -> dict[str, Any]:
    """The canonical wire form of a parsed policy; parsing it again gives an equal policy.

    Unset optional parameters are left out, and so is ExtendMaximumAssignments when it is the default and no
    extension is configured. QuestionIds come back as one Value per id.
    """
    parameters: list[dict[str, Any]] = []

    def add(key: str, value: int | bool | str | None) -> None:
        if value is None:
            return
        text = _flag(value) if isinstance(value, bool) else str(value)
        parameters.append({"Key": key, "Values": [text]})

    if isinstance(policy, ScoreMyKnownAnswers):
        parameters.append(
            {
                "Key": "AnswerKey",
                "MapEntries": [
                    {"Key": qid, "Values": list(values)} for qid, values in policy.answer_key.items()
                ],
            }
        )
        add("ApproveIfKnownAnswerScoreIsAtLeast", policy.approve_if_known_answer_score_is_at_least)
        add("ApproveReason", policy.approve_reason)
        add("RejectIfKnownAnswerScoreIsLessThan", policy.reject_if_known_answer_score_is_less_than)
        add("RejectReason", policy.reject_reason)
        add("ExtendIfKnownAnswerScoreIsLessThan", policy.extend_if_known_answer_score_is_less_than)
        extends = policy.extend_if_known_answer_score_is_less_than is not None
    elif isinstance(policy, SimplePlurality):
        parameters.append({"Key": "QuestionIds", "Values": list(policy.question_ids)})
        add("QuestionAgreementThreshold", policy.question_agreement_threshold)
        add("DisregardAssignmentIfRejected", policy.disregard_assignment_if_rejected)
        add(
            "DisregardAssignmentIfKnownAnswerScoreIsLessThan",
            policy.disregard_assignment_if_known_answer_score_is_less_than,
        )
        add("ExtendIfHITAgreementScoreIsLessThan", policy.extend_if_hit_agreement_score_is_less_than)
        add("ApproveIfWorkerAgreementScoreIsAtLeast", policy.approve_if_worker_agreement_score_is_at_least)
        add("RejectIfWorkerAgreementScoreIsLessThan", policy.reject_if_worker_agreement_score_is_less_than)
        add("RejectReason", policy.reject_reason)
        extends = policy.extend_if_hit_agreement_score_is_less_than is not None
    else:
        raise TypeError(f"not a review policy: {policy!r}")
    if extends or policy.extend_maximum_assignments != DEFAULT_EXTEND_MAXIMUM_ASSIGNMENTS:
        add("ExtendMaximumAssignments", policy.extend_maximum_assignments)
    add("ExtendMinimumTimeInSeconds", policy.extend_minimum_time_in_seconds)
    return {"PolicyName": policy.policy_name, "Parameters": parameters}


