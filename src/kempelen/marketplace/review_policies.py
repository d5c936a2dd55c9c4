"""MTurk's review policies (ScoreMyKnownAnswers, SimplePlurality): parsing, validation and pure evaluation."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from kempelen.core.errors import InvalidParameter

SCORE_MY_KNOWN_ANSWERS = "ScoreMyKnownAnswers/2011-09-01"
SIMPLE_PLURALITY = "SimplePlurality/2011-09-01"

#: The CreateHIT members the policies arrive in; error messages name them so requesters know where to look.
ASSIGNMENT_REVIEW_POLICY = "AssignmentReviewPolicy"
HIT_REVIEW_POLICY = "HITReviewPolicy"

DEFAULT_EXTEND_MAXIMUM_ASSIGNMENTS = 5
#: Documented only in the legacy API's example ("up to 15"); enforced so that the per-assignment report stays small.
MAX_QUESTION_IDS = 15
#: MTurk: "Answers that are longer than 256 characters are not used in the computation of HIT review policies."
MAX_PLURALITY_ANSWER_CHARS = 256
#: CreateAdditionalAssignmentsForHIT refuses to take a HIT from <10 to ≥10 assignments (the 10+ fee tier), and
#: MTurk's policies obey the same rule, so an automatic extension never silently raises the requester's fee.
LARGE_HIT_ASSIGNMENTS = 10
#: Reasons become RequesterFeedback on Approve/RejectAssignment, which has this limit (§6); checking it when the
#: HIT is created beats failing every automatic rejection later.
MAX_REASON_CHARS = 1024
#: How a multi-value answer (several checkboxes) is written into a result's Value: sorted, ``|``-joined, the
#: separator the requester site's results CSV uses for repeated fields.
MULTI_VALUE_SEPARATOR = "|"

AnswerValue: TypeAlias = str | Collection[str]
ActionName: TypeAlias = Literal["Approve", "Reject", "Extend"]
SubjectType: TypeAlias = Literal["Assignment", "HIT"]
AssignmentStatus: TypeAlias = Literal["Submitted", "Approved", "Rejected"]

_ASSIGNMENT_STATUSES = frozenset({"Submitted", "Approved", "Rejected"})
_INTEGER = re.compile(r"[+-]?[0-9]+")
# RequesterFeedback refuses ASCII 0-8, 11, 12 and 14-31 (tab, LF and CR are allowed).
_FORBIDDEN_FEEDBACK_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The legacy API documented booleans as "T"/"F"; the 2017 clients send "true"/"false". Both are accepted.
_BOOLEANS = {"true": True, "false": False, "t": True, "f": False}


# --------------------------------------------------------------------------------------------------------------
# Policies


@dataclass(frozen=True)
class ScoreMyKnownAnswers:
    """``ScoreMyKnownAnswers/2011-09-01``: scores one submitted assignment against the requester's answer key.

    ``answer_key`` maps a QuestionIdentifier to the exact set of values a correct answer has (trimmed, in the
    requester's order, duplicates and blanks dropped); an empty tuple means "the correct answer is blank".
    ``extend_minimum_time_in_seconds`` is ``None`` when the requester gave none: the extension then adds an
    assignment without touching the HIT's expiry.
    """

    policy_name: ClassVar[str] = SCORE_MY_KNOWN_ANSWERS
    level: ClassVar[str] = "Assignment"

    answer_key: Mapping[str, tuple[str, ...]]
    approve_if_known_answer_score_is_at_least: int | None = None
    approve_reason: str | None = None
    reject_if_known_answer_score_is_less_than: int | None = None
    reject_reason: str | None = None
    extend_if_known_answer_score_is_less_than: int | None = None
    extend_maximum_assignments: int = DEFAULT_EXTEND_MAXIMUM_ASSIGNMENTS
    extend_minimum_time_in_seconds: int | None = None


@dataclass(frozen=True)
class SimplePlurality:
    """``SimplePlurality/2011-09-01``: compares the answers of a HIT's assignments once the HIT is Reviewable.

    ``question_ids`` keeps the requester's order (comma-separated values are split). The extension members are
    only set together: ``extend_if_hit_agreement_score_is_less_than`` requires both of the others.
    """

    policy_name: ClassVar[str] = SIMPLE_PLURALITY
    level: ClassVar[str] = "HIT"

    question_ids: tuple[str, ...]
    question_agreement_threshold: int
    disregard_assignment_if_rejected: bool
    disregard_assignment_if_known_answer_score_is_less_than: int | None = None
    extend_if_hit_agreement_score_is_less_than: int | None = None
    extend_maximum_assignments: int = DEFAULT_EXTEND_MAXIMUM_ASSIGNMENTS
    extend_minimum_time_in_seconds: int | None = None
    approve_if_worker_agreement_score_is_at_least: int | None = None
    reject_if_worker_agreement_score_is_less_than: int | None = None
    reject_reason: str | None = None


ReviewPolicy: TypeAlias = ScoreMyKnownAnswers | SimplePlurality


# --------------------------------------------------------------------------------------------------------------
# Outcomes


@dataclass(frozen=True)
class ReviewResult:
    """One ``ReviewResultDetail`` without its ActionId (the engine assigns ids when it stores the result)."""

    subject_id: str
    subject_type: SubjectType
    question_id: str | None
    key: str
    value: str

    def to_wire(self) -> dict[str, str]:
        wire = {"SubjectId": self.subject_id, "SubjectType": self.subject_type}
        if self.question_id is not None:
            wire["QuestionId"] = self.question_id
        wire["Key"] = self.key
        wire["Value"] = self.value
        return wire


@dataclass(frozen=True)
class IntendedAction:
    """An action a policy wants taken; the engine performs it and records Status/Result/ErrorCode itself.

    ``reason`` is the requester's ApproveReason/RejectReason (RequesterFeedback), ``None`` when none was given
    and always ``None`` for Extend.
    """

    action_name: ActionName
    target_id: str
    target_type: SubjectType
    reason: str | None = None

    def to_wire(self) -> dict[str, str]:
        return {"ActionName": self.action_name, "TargetId": self.target_id, "TargetType": self.target_type}


@dataclass(frozen=True)
class KnownAnswerOutcome:
    """What ScoreMyKnownAnswers concluded about one assignment."""

    assignment_id: str
    score: int
    correct_count: int
    total_count: int
    #: QuestionIdentifier → answered correctly, in answer-key order.
    question_correct: Mapping[str, bool]
    results: tuple[ReviewResult, ...]
    actions: tuple[IntendedAction, ...]


@dataclass(frozen=True)
class AssignmentAnswers:
    """One assignment as SimplePlurality sees it. ``known_answer_score`` is ScoreMyKnownAnswers' score, if any."""

    assignment_id: str
    worker_id: str
    status: AssignmentStatus
    answers: Mapping[str, AnswerValue]
    known_answer_score: int | None = None


@dataclass(frozen=True)
class QuestionAgreement:
    """SimplePlurality's verdict on one question.

    ``plurality_answer`` is ``None`` when no single answer got the most votes (a tie, or no usable answers);
    ``agreement_score`` is then ``None`` too, as MTurk's documentation shows "n/a".
    """

    question_id: str
    plurality_answer: frozenset[str] | None
    votes: int
    considered: int
    agreement_score: int | None
    agrees: bool


@dataclass(frozen=True)
class PluralityOutcome:
    """What SimplePlurality concluded about a HIT."""

    hit_id: str
    hit_agreement_score: int
    questions: tuple[QuestionAgreement, ...]
    #: Considered assignment id → Worker Agreement Score; ``None`` when no question agreed (nothing to judge by).
    worker_agreement_scores: Mapping[str, int | None]
    #: Assignments left out of the computation (rejected, or a known-answer score below the threshold).
    disregarded_assignment_ids: tuple[str, ...]
    results: tuple[ReviewResult, ...]
    actions: tuple[IntendedAction, ...]


# --------------------------------------------------------------------------------------------------------------
# Parsing and validation


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


# --------------------------------------------------------------------------------------------------------------
# Shared arithmetic


def percentage(part: int, whole: int) -> int:
    """``100 * part / whole`` as an integer, rounded half up: 2/3 → 67, 1/8 → 13 (12.5 rounds up).

    Integer arithmetic, so no float ever decides a threshold. MTurk's own worked example truncates (2/3 → "66%");
    rounding was chosen because the score is a reported percentage and half-up is how Kempelen rounds money too.
    """
    if whole <= 0 or not 0 <= part <= whole:
        raise ValueError(f"percentage({part}, {whole}) needs 0 <= part <= whole and whole > 0")
    return (200 * part + whole) // (2 * whole)


def extension_allowed(current_max_assignments: int, extend_maximum_assignments: int) -> bool:
    """Whether a policy may add one assignment to a HIT that currently has ``current_max_assignments``.

    Never beyond ExtendMaximumAssignments (the HIT's total), and never from fewer than 10 to 10 or more:
    MTurk's CreateAdditionalAssignmentsForHIT refuses that crossing, and the 10+ tier costs a higher fee.
    """
    new_total = current_max_assignments + 1
    if new_total > extend_maximum_assignments:
        return False
    return not current_max_assignments < LARGE_HIT_ASSIGNMENTS <= new_total


def normalise_answer(value: AnswerValue) -> frozenset[str]:
    """An answer as the set of its trimmed, non-blank values: ``" A "`` → {A}; ``{"A", "B "}`` → {A, B}; ``""`` → ∅.

    A string is one value (the caller splits multi-selects before calling); any other collection of strings is
    a multi-value answer. Case and punctuation are kept, as MTurk's matching is exact.
    """
    items: Collection[Any] = (value,) if isinstance(value, str) else value
    if isinstance(value, bytes | Mapping) or not isinstance(items, Collection):
        raise TypeError(f"an answer is a string or a collection of strings; got {value!r}")
    out = set()
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"an answer's values must be strings; got {item!r}")
        trimmed = item.strip()
        if trimmed:
            out.add(trimmed)
    return frozenset(out)


def format_answer(values: Collection[str]) -> str:
    """A (multi-value) answer as one result Value: sorted and ``|``-joined, so equal sets print equally."""
    return MULTI_VALUE_SEPARATOR.join(sorted(values))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _judge(
    score: int, approve_at_least: int | None, reject_below: int | None
) -> Literal["Approve", "Reject"] | None:
    # When both thresholds fire (e.g. approve at ≥50, reject below 80, score 60) approval wins: the requester
    # explicitly said this score is good enough to pay, and a wrongful rejection (it hurts the worker's approval
    # rate and cannot be fixed after 30 days) costs more than a wrongful approval.
    if approve_at_least is not None and score >= approve_at_least:
        return "Approve"
    if reject_below is not None and score < reject_below:
        return "Reject"
    return None


# --------------------------------------------------------------------------------------------------------------
# ScoreMyKnownAnswers


def evaluate_known_answers(
    policy: ScoreMyKnownAnswers,
    answers: Mapping[str, AnswerValue],
    *,
    assignment_id: str,
    hit_id: str,
    current_max_assignments: int,
) -> KnownAnswerOutcome:
    """Score one submitted assignment against the answer key and say what should happen to it.

    - A question is correct when ``normalise_answer(answer) == set(key values)``: exact after trimming each value,
      case- and punctuation-sensitive, multi-value answers compared as sets (a subset or superset is wrong), and
      blank against non-blank is wrong. A question the assignment did not answer at all is wrong.
    - ``score = percentage(correct, number of questions in the key)``, rounded half up (2 of 3 → 67).
    - Approve when ``score ≥ ApproveIfKnownAnswerScoreIsAtLeast`` (reason: ApproveReason); otherwise reject when
      ``score < RejectIfKnownAnswerScoreIsLessThan`` (reason: RejectReason); approval wins when both would fire.
    - Extend the HIT by one assignment when ``score < ExtendIfKnownAnswerScoreIsLessThan`` and
      :func:`extension_allowed` (``current_max_assignments`` is the HIT's MaxAssignments now). Extension is
      independent of approve/reject: it usually replaces the assignment being rejected.

    Results (subject: the assignment): ``KnownAnswerCorrect`` = "true"/"false" per question (with its id), then
    ``KnownAnswerScore``, ``KnownAnswerCorrect`` (count) and ``KnownAnswerTotal`` (count) without a question id.
    """
    if current_max_assignments < 1:
        raise ValueError(f"current_max_assignments must be at least 1; got {current_max_assignments}")
    question_correct = {
        question_id: question_id in answers and normalise_answer(answers[question_id]) == frozenset(expected)
        for question_id, expected in policy.answer_key.items()
    }
    correct = sum(question_correct.values())
    total = len(question_correct)
    score = percentage(correct, total)

    results = [
        ReviewResult(assignment_id, "Assignment", question_id, "KnownAnswerCorrect", _flag(ok))
        for question_id, ok in question_correct.items()
    ]
    results += [
        ReviewResult(assignment_id, "Assignment", None, "KnownAnswerScore", str(score)),
        ReviewResult(assignment_id, "Assignment", None, "KnownAnswerCorrect", str(correct)),
        ReviewResult(assignment_id, "Assignment", None, "KnownAnswerTotal", str(total)),
    ]

    actions: list[IntendedAction] = []
    verdict = _judge(
        score,
        policy.approve_if_known_answer_score_is_at_least,
        policy.reject_if_known_answer_score_is_less_than,
    )
    if verdict == "Approve":
        actions.append(IntendedAction("Approve", assignment_id, "Assignment", policy.approve_reason))
    elif verdict == "Reject":
        actions.append(IntendedAction("Reject", assignment_id, "Assignment", policy.reject_reason))
    extend_below = policy.extend_if_known_answer_score_is_less_than
    if (
        extend_below is not None
        and score < extend_below
        and extension_allowed(current_max_assignments, policy.extend_maximum_assignments)
    ):
        actions.append(IntendedAction("Extend", hit_id, "HIT"))

    return KnownAnswerOutcome(
        assignment_id=assignment_id,
        score=score,
        correct_count=correct,
        total_count=total,
        question_correct=question_correct,
        results=tuple(results),
        actions=tuple(actions),
    )


# --------------------------------------------------------------------------------------------------------------
# SimplePlurality


def _plurality_vote(value: AnswerValue | None) -> frozenset[str] | None:
    """The answer as a vote, or ``None`` when it cannot vote: absent, blank, or a value over 256 characters."""
    if value is None:
        return None
    normalised = normalise_answer(value)
    if not normalised or any(len(v) > MAX_PLURALITY_ANSWER_CHARS for v in normalised):
        return None
    return normalised


def evaluate_plurality(
    policy: SimplePlurality,
    assignments: Sequence[AssignmentAnswers],
    current_max_assignments: int,
    *,
    hit_id: str,
) -> PluralityOutcome:
    """Compare the assignments' answers, score the agreement, and say which actions should follow.

    Considered assignments: all of them, minus those with status Rejected when DisregardAssignmentIfRejected is
    true, minus those whose ``known_answer_score`` is present and below
    DisregardAssignmentIfKnownAnswerScoreIsLessThan. Disregarded assignments get no scores and no actions.

    Per question ``q`` in QuestionIds (``n`` = number of considered assignments):

    - each considered assignment's vote is its normalised answer (see :func:`normalise_answer`); an answer that
      is missing, blank, or has a value longer than 256 characters does not vote, but the assignment still
      counts in ``n``;
    - the plurality answer is the vote with strictly the most votes; a tie for first (or no votes) means none;
    - Question Agreement Score ``QAS(q) = percentage(votes for the plurality answer, n)`` (``None`` without one);
    - ``q`` agrees when it has a plurality answer and ``QAS(q) ≥ QuestionAgreementThreshold``.

    HIT Agreement Score ``= percentage(agreeing questions, len(QuestionIds))``.

    Worker Agreement Score of a considered assignment ``= percentage(agreeing questions it answered with the
    plurality answer, agreeing questions)``; ``None`` when no question agrees (there is nothing to judge by, so
    nobody is approved or rejected on it).

    Actions: for considered assignments still Submitted, Approve when the worker score ≥
    ApproveIfWorkerAgreementScoreIsAtLeast, else Reject (reason: RejectReason) when it is <
    RejectIfWorkerAgreementScoreIsLessThan. Extend the HIT by one assignment when the HIT score <
    ExtendIfHITAgreementScoreIsLessThan and :func:`extension_allowed`.

    Results: per question (subject: the HIT) ``PluralityAnswer`` (multi-value answers sorted and ``|``-joined)
    and ``QuestionAgreementScore`` when there is a plurality answer; ``HITAgreementScore``; per considered
    assignment ``AgreedWithPlurality`` ("true"/"false") for each agreeing question, then ``WorkerAgreementScore``
    when defined.
    """
    if current_max_assignments < 1:
        raise ValueError(f"current_max_assignments must be at least 1; got {current_max_assignments}")
    seen: set[str] = set()
    for assignment in assignments:
        if assignment.status not in _ASSIGNMENT_STATUSES:
            raise ValueError(
                f"assignment {assignment.assignment_id} has status {assignment.status!r}; SimplePlurality only "
                "sees Submitted, Approved and Rejected assignments"
            )
        if assignment.assignment_id in seen:
            raise ValueError(f"assignment {assignment.assignment_id} is listed twice")
        seen.add(assignment.assignment_id)

    considered: list[AssignmentAnswers] = []
    disregarded: list[str] = []
    known_below = policy.disregard_assignment_if_known_answer_score_is_less_than
    for assignment in assignments:
        rejected = policy.disregard_assignment_if_rejected and assignment.status == "Rejected"
        low_known = (
            known_below is not None
            and assignment.known_answer_score is not None
            and assignment.known_answer_score < known_below
        )
        if rejected or low_known:
            disregarded.append(assignment.assignment_id)
        else:
            considered.append(assignment)

    votes = {
        a.assignment_id: {q: _plurality_vote(a.answers.get(q)) for q in policy.question_ids}
        for a in considered
    }

    questions: list[QuestionAgreement] = []
    for question_id in policy.question_ids:
        tally = Counter(v[question_id] for v in votes.values() if v[question_id] is not None)
        ranked = tally.most_common(2)
        plurality: frozenset[str] | None = None
        top = 0
        if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            plurality, top = ranked[0]
        score = percentage(top, len(considered)) if plurality is not None else None
        agrees = score is not None and score >= policy.question_agreement_threshold
        questions.append(QuestionAgreement(question_id, plurality, top, len(considered), score, agrees))

    agreeing = [q for q in questions if q.agrees]
    hit_score = percentage(len(agreeing), len(questions))

    worker_scores: dict[str, int | None] = {}
    for assignment in considered:
        mine = votes[assignment.assignment_id]
        matched = sum(1 for q in agreeing if mine[q.question_id] == q.plurality_answer)
        worker_scores[assignment.assignment_id] = percentage(matched, len(agreeing)) if agreeing else None

    results: list[ReviewResult] = []
    for q in questions:
        if q.plurality_answer is not None:
            results.append(
                ReviewResult(
                    hit_id, "HIT", q.question_id, "PluralityAnswer", format_answer(q.plurality_answer)
                )
            )
            results.append(
                ReviewResult(hit_id, "HIT", q.question_id, "QuestionAgreementScore", str(q.agreement_score))
            )
    results.append(ReviewResult(hit_id, "HIT", None, "HITAgreementScore", str(hit_score)))
    for assignment in considered:
        mine = votes[assignment.assignment_id]
        for q in agreeing:
            agreed = mine[q.question_id] == q.plurality_answer
            results.append(
                ReviewResult(
                    assignment.assignment_id,
                    "Assignment",
                    q.question_id,
                    "AgreedWithPlurality",
                    _flag(agreed),
                )
            )
        worker_score = worker_scores[assignment.assignment_id]
        if worker_score is not None:
            results.append(
                ReviewResult(
                    assignment.assignment_id, "Assignment", None, "WorkerAgreementScore", str(worker_score)
                )
            )

    actions: list[IntendedAction] = []
    for assignment in considered:
        worker_score = worker_scores[assignment.assignment_id]
        # Approved and Rejected assignments are settled; re-judging them would only produce failing actions.
        if worker_score is None or assignment.status != "Submitted":
            continue
        verdict = _judge(
            worker_score,
            policy.approve_if_worker_agreement_score_is_at_least,
            policy.reject_if_worker_agreement_score_is_less_than,
        )
        if verdict == "Approve":
            actions.append(IntendedAction("Approve", assignment.assignment_id, "Assignment"))
        elif verdict == "Reject":
            actions.append(
                IntendedAction("Reject", assignment.assignment_id, "Assignment", policy.reject_reason)
            )
    extend_below = policy.extend_if_hit_agreement_score_is_less_than
    if (
        extend_below is not None
        and hit_score < extend_below
        and extension_allowed(current_max_assignments, policy.extend_maximum_assignments)
    ):
        actions.append(IntendedAction("Extend", hit_id, "HIT"))

    return PluralityOutcome(
        hit_id=hit_id,
        hit_agreement_score=hit_score,
        questions=tuple(questions),
        worker_agreement_scores=worker_scores,
        disregarded_assignment_ids=tuple(disregarded),
        results=tuple(results),
        actions=tuple(actions),
    )
