"""SimplePlurality: agreement among a HIT's assignments."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .definitions import (
    _ASSIGNMENT_STATUSES,
    MAX_PLURALITY_ANSWER_CHARS,
    AnswerValue,
    AssignmentAnswers,
    IntendedAction,
    PluralityOutcome,
    QuestionAgreement,
    ReviewResult,
    SimplePlurality,
)
from .scoring import _flag, _judge, extension, format_answer, normalise_answer, percentage


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
    extend = extension(hit_id, hit_score, policy.extend_if_hit_agreement_score_is_less_than, current_max_assignments,
                       policy.extend_maximum_assignments)
    if extend is not None:
        actions.append(extend)

    return PluralityOutcome(
        hit_id=hit_id,
        hit_agreement_score=hit_score,
        questions=tuple(questions),
        worker_agreement_scores=worker_scores,
        disregarded_assignment_ids=tuple(disregarded),
        results=tuple(results),
        actions=tuple(actions),
    )
