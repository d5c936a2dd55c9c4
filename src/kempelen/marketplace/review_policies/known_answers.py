"""ScoreMyKnownAnswers: scoring a submission against the known answers."""

from __future__ import annotations

from collections.abc import Mapping

from .definitions import AnswerValue, IntendedAction, KnownAnswerOutcome, ReviewResult, ScoreMyKnownAnswers
from .scoring import _flag, _judge, extension, normalise_answer, percentage


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
    extend = extension(hit_id, score, policy.extend_if_known_answer_score_is_less_than, current_max_assignments,
                       policy.extend_maximum_assignments)
    if extend is not None:
        actions.append(extend)

    return KnownAnswerOutcome(
        assignment_id=assignment_id,
        score=score,
        correct_count=correct,
        total_count=total,
        question_correct=question_correct,
        results=tuple(results),
        actions=tuple(actions),
    )


