"""Review policies: names, limits, the policies as data and what evaluating them produces."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias

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


