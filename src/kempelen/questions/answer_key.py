"""AnswerKey: parse a qualification test's key and turn a worker's test answers into a qualification value.

Scoring (MTurk's AnswerKey rules): for each question in the key, the first AnswerOption whose set of
SelectionIdentifiers equals exactly the set the worker picked adds its AnswerScore (which may be negative);
when none matches, the question's DefaultScore (0 if absent) is added. The sum is then mapped:

- no QualificationValueMapping: the sum itself;
- PercentageMapping: sum * 100 / MaximumSummedScore, rounded to the nearest integer;
- ScaleMapping: sum * SummedScoreMultiplier (a decimal), rounded to the nearest integer. MTurk never said how
  it rounded a fractional product; Kempelen rounds it like the percentage;
- RangeMapping: the QualificationValue of the SummedScoreRange holding the sum (bounds inclusive), else
  OutOfRangeQualificationValue. MTurk left overlapping ranges undefined; Kempelen refuses them.

"Rounded" means to the nearest integer with ties away from zero (2.5 -> 3, -2.5 -> -3), computed exactly.
A free-text answer counts as the one-element set of its stripped text, so a key may also score free-text
questions by exact text (an empty answer is the empty set).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from xml.etree.ElementTree import Element

from kempelen.core.errors import InvalidQuestion

from . import namespaces
from .questionform import FileUploadAnswer, QuestionForm, SelectionAnswer
from .xmlutil import MAX_INT32, ElementReader, element_text, parse_document, split_tag

_MIN_INT32 = -MAX_INT32 - 1
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


@dataclass(frozen=True)
class AnswerOption:
    selection_identifiers: frozenset[str]
    score: int


@dataclass(frozen=True)
class AnswerKeyQuestion:
    identifier: str
    options: tuple[AnswerOption, ...]
    default_score: int = 0


@dataclass(frozen=True)
class PercentageMapping:
    maximum_summed_score: int


@dataclass(frozen=True)
class ScaleMapping:
    multiplier: Decimal


@dataclass(frozen=True)
class ScoreRange:
    lower: int
    upper: int
    qualification_value: int


@dataclass(frozen=True)
class RangeMapping:
    ranges: tuple[ScoreRange, ...]
    out_of_range_value: int


QualificationValueMapping = PercentageMapping | ScaleMapping | RangeMapping


@dataclass(frozen=True)
class AnswerKey:
    questions: tuple[AnswerKeyQuestion, ...]
    mapping: QualificationValueMapping | None = None


# --- scoring -------------------------------------------------------------------------------------------------


def score(key: AnswerKey, answers: Mapping[str, set[str] | frozenset[str] | str]) -> int:
    """The qualification value a worker earns with ``answers`` (QuestionIdentifier → selections or text)."""
    return map_summed_score(key.mapping, summed_score(key, answers))


def summed_score(key: AnswerKey, answers: Mapping[str, set[str] | frozenset[str] | str]) -> int:
    """The sum of the per-question scores, before any QualificationValueMapping."""
    return sum(_question_score(question, _picked(answers.get(question.identifier))) for question in key.questions)


def map_summed_score(mapping: QualificationValueMapping | None, total: int) -> int:
    if mapping is None:
        return total
    if isinstance(mapping, PercentageMapping):
        return round_half_away_from_zero(Fraction(total * 100, mapping.maximum_summed_score))
    if isinstance(mapping, ScaleMapping):
        return round_half_away_from_zero(total * Fraction(mapping.multiplier))
    for score_range in mapping.ranges:
        if score_range.lower <= total <= score_range.upper:
            return score_range.qualification_value
    return mapping.out_of_range_value


def round_half_away_from_zero(value: Fraction) -> int:
    magnitude = int(abs(value) + Fraction(1, 2))
    return -magnitude if value < 0 else magnitude


def _picked(answer: set[str] | frozenset[str] | str | None) -> frozenset[str]:
    if answer is None:
        return frozenset()
    if isinstance(answer, str):
        text = answer.strip()
        return frozenset({text}) if text else frozenset()
    return frozenset(answer)


def _question_score(question: AnswerKeyQuestion, picked: frozenset[str]) -> int:
    for option in question.options:
        if option.selection_identifiers == picked:
            return option.score
    return question.default_score


# --- parsing -------------------------------------------------------------------------------------------------


def parse_answer_key(xml: str, *, form: QuestionForm | None = None) -> AnswerKey:
    """Parse an AnswerKey; with ``form`` (the Test), also check it against the test's questions."""
    root = parse_document(xml, field="AnswerKey")
    namespace, name = split_tag(root.tag)
    if name != "AnswerKey":
        raise InvalidQuestion(f"AnswerKey must be an XML document whose root element is <AnswerKey>; got <{name}>.")
    if namespace != namespaces.ANSWER_KEY:
        found = f"the namespace {namespace!r}" if namespace else "no namespace"
        raise InvalidQuestion(f"<AnswerKey> has {found}; it must declare xmlns={namespaces.ANSWER_KEY!r}.")
    reader = _reader(root, "AnswerKey", ("Question", "QualificationValueMapping"), repeatable=("Question",))
    questions = tuple(_key_question(child, number) for number, child in enumerate(reader.all("Question"), 1))
    if not questions:
        raise InvalidQuestion("AnswerKey must contain at least one Question element.")
    _check_unique_questions(questions)
    mapping_element = reader.optional("QualificationValueMapping")
    key = AnswerKey(questions=questions, mapping=None if mapping_element is None else _mapping(mapping_element))
    if form is not None:
        validate_against(key, form)
    return key


def validate_against(key: AnswerKey, form: QuestionForm) -> None:
    """Refuse a key that names a question or selection the test does not have."""
    for question in key.questions:
        try:
            spec = form.question(question.identifier).answer
        except KeyError:
            raise InvalidQuestion(
                f"AnswerKey refers to QuestionIdentifier {question.identifier!r}, which the Test does not have."
            ) from None
        if isinstance(spec, FileUploadAnswer):
            raise InvalidQuestion(
                f"AnswerKey cannot score question {question.identifier!r}: it asks for a file upload."
            )
        if isinstance(spec, SelectionAnswer):
            _check_options(question, spec)


def _check_options(question: AnswerKeyQuestion, spec: SelectionAnswer) -> None:
    offered = spec.selection_identifiers
    for option in question.options:
        unknown = sorted(option.selection_identifiers - set(offered))
        if unknown:
            raise InvalidQuestion(
                f"AnswerKey question {question.identifier!r} refers to SelectionIdentifier {unknown[0]!r}, "
                f"which that question does not offer (it offers: {', '.join(offered)})."
            )
        if len(option.selection_identifiers) > spec.max_selection_count:
            raise InvalidQuestion(
                f"AnswerKey question {question.identifier!r} has an AnswerOption with "
                f"{len(option.selection_identifiers)} selections, but the question allows at most "
                f"{spec.max_selection_count}; that option could never match."
            )


def _reader(element: Element, path: str, allowed: tuple[str, ...], repeatable: tuple[str, ...] = ()
            ) -> ElementReader:
    return ElementReader(element, namespace=namespaces.ANSWER_KEY, allowed=allowed, repeatable=repeatable, path=path)


def _key_question(element: Element, number: int) -> AnswerKeyQuestion:
    path = f"AnswerKey/Question[{number}]"
    reader = _reader(element, path, ("QuestionIdentifier", "AnswerOption", "DefaultScore"), repeatable=("AnswerOption",))
    identifier = reader.text("QuestionIdentifier")
    if not identifier:
        raise InvalidQuestion(f"{path}/QuestionIdentifier must not be empty.")
    path = f"AnswerKey/Question[{identifier}]"
    options = tuple(_option(child, path=f"{path}/AnswerOption") for child in reader.all("AnswerOption"))
    if not options:
        raise InvalidQuestion(f"{path} must contain at least one AnswerOption.")
    if len(set(option.selection_identifiers for option in options)) != len(options):
        raise InvalidQuestion(f"{path} has two AnswerOptions with the same set of SelectionIdentifiers.")
    default = reader.optional_integer("DefaultScore", minimum=_MIN_INT32)
    return AnswerKeyQuestion(identifier=identifier, options=options, default_score=default or 0)


def _option(element: Element, *, path: str) -> AnswerOption:
    reader = _reader(element, path, ("SelectionIdentifier", "AnswerScore"), repeatable=("SelectionIdentifier",))
    identifiers = [element_text(child, path=f"{path}/SelectionIdentifier") for child in reader.all("SelectionIdentifier")]
    if not identifiers:
        raise InvalidQuestion(f"{path} must contain at least one SelectionIdentifier.")
    if not all(identifiers):
        raise InvalidQuestion(f"{path} has an empty SelectionIdentifier.")
    return AnswerOption(
        selection_identifiers=frozenset(identifiers),
        score=reader.integer("AnswerScore", minimum=_MIN_INT32),
    )


def _check_unique_questions(questions: tuple[AnswerKeyQuestion, ...]) -> None:
    seen: set[str] = set()
    for question in questions:
        if question.identifier in seen:
            raise InvalidQuestion(f"AnswerKey has more than one Question for QuestionIdentifier {question.identifier!r}.")
        seen.add(question.identifier)


def _mapping(element: Element) -> QualificationValueMapping:
    path = "AnswerKey/QualificationValueMapping"
    kinds = ("PercentageMapping", "ScaleMapping", "RangeMapping")
    reader = _reader(element, path, kinds)
    present = [kind for kind in kinds if reader.has(kind)]
    if len(present) != 1:
        raise InvalidQuestion(
            f"{path} must contain exactly one of PercentageMapping, ScaleMapping or RangeMapping; found {len(present)}."
        )
    child, path = reader.required(present[0]), f"{path}/{present[0]}"
    if present[0] == "PercentageMapping":
        maximum = _reader(child, path, ("MaximumSummedScore",)).integer("MaximumSummedScore", minimum=1)
        return PercentageMapping(maximum_summed_score=maximum)
    if present[0] == "ScaleMapping":
        return ScaleMapping(multiplier=_multiplier(_reader(child, path, ("SummedScoreMultiplier",)), path))
    return _range_mapping(child, path)


def _multiplier(reader: ElementReader, path: str) -> Decimal:
    text = reader.text("SummedScoreMultiplier")
    if not _DECIMAL.fullmatch(text):
        raise InvalidQuestion(f"{path}/SummedScoreMultiplier must be a decimal number such as 1.5; got {text!r}.")
    return Decimal(text)


def _range_mapping(element: Element, path: str) -> RangeMapping:
    reader = _reader(element, path, ("SummedScoreRange", "OutOfRangeQualificationValue"), repeatable=("SummedScoreRange",))
    ranges = tuple(_score_range(child, path=f"{path}/SummedScoreRange") for child in reader.all("SummedScoreRange"))
    if not ranges:
        raise InvalidQuestion(f"{path} must contain at least one SummedScoreRange.")
    ordered = sorted(ranges, key=lambda each: each.lower)
    for before, after in itertools.pairwise(ordered):
        if after.lower <= before.upper:
            raise InvalidQuestion(
                f"{path}: the ranges {before.lower} to {before.upper} and {after.lower} to {after.upper} overlap; "
                "each summed score may fall in at most one SummedScoreRange."
            )
    out_of_range = reader.integer("OutOfRangeQualificationValue", minimum=_MIN_INT32)
    return RangeMapping(ranges=ranges, out_of_range_value=out_of_range)


def _score_range(element: Element, *, path: str) -> ScoreRange:
    reader = _reader(element, path, ("InclusiveLowerBound", "InclusiveUpperBound", "QualificationValue"))
    lower = reader.integer("InclusiveLowerBound", minimum=_MIN_INT32)
    upper = reader.integer("InclusiveUpperBound", minimum=_MIN_INT32)
    if lower > upper:
        raise InvalidQuestion(f"{path}: InclusiveLowerBound ({lower}) is larger than InclusiveUpperBound ({upper}).")
    value = reader.integer("QualificationValue", minimum=_MIN_INT32)
    return ScoreRange(lower=lower, upper=upper, qualification_value=value)
