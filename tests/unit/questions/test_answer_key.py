"""AnswerKey parsing and scoring of qualification tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kempelen.core.errors import InvalidQuestion
from kempelen.questions.answer_key import (
    AnswerKey,
    PercentageMapping,
    RangeMapping,
    ScaleMapping,
    parse_answer_key,
    score,
    summed_score,
    validate_against,
)
from kempelen.questions.formats import parse_test

from .samples import ANSWER_KEY_NS, QUESTION_FORM, answer_key

PERCENTAGE = "<QualificationValueMapping><PercentageMapping><MaximumSummedScore>15</MaximumSummedScore></PercentageMapping></QualificationValueMapping>"
SCALE = "<QualificationValueMapping><ScaleMapping><SummedScoreMultiplier>{}</SummedScoreMultiplier></ScaleMapping></QualificationValueMapping>"
RANGES = """<QualificationValueMapping><RangeMapping>
  <SummedScoreRange><InclusiveLowerBound>5</InclusiveLowerBound><InclusiveUpperBound>7</InclusiveUpperBound><QualificationValue>50</QualificationValue></SummedScoreRange>
  <SummedScoreRange><InclusiveLowerBound>8</InclusiveLowerBound><InclusiveUpperBound>15</InclusiveUpperBound><QualificationValue>100</QualificationValue></SummedScoreRange>
  <OutOfRangeQualificationValue>0</OutOfRangeQualificationValue>
</RangeMapping></QualificationValueMapping>"""

PERFECT = {"species": {"robin"}, "colours": {"red", "brown"}}  # 10 + 5 = 15


def key_with(mapping: str = "") -> AnswerKey:
    return parse_answer_key(answer_key(mapping))


def refusal(xml: str) -> str:
    with pytest.raises(InvalidQuestion) as caught:
        parse_answer_key(xml)
    return str(caught.value)


# --- parsing ----------------------------------------------------------------------------------------------------


def test_answer_key_is_parsed_with_options_default_score_and_mapping():
    key = key_with(PERCENTAGE)
    species = key.questions[0]
    assert species.identifier == "species"
    assert [(set(option.selection_identifiers), option.score) for option in species.options] == [
        ({"robin"}, 10), ({"wren"}, -5),
    ]
    assert species.default_score == 1
    assert key.questions[1].default_score == 0
    assert key.mapping == PercentageMapping(15)


def test_answer_key_requires_its_namespace():
    with pytest.raises(InvalidQuestion) as caught:
        parse_answer_key(answer_key().replace(f' xmlns="{ANSWER_KEY_NS}"', ""))
    assert ANSWER_KEY_NS in str(caught.value)


def test_answer_key_root_must_be_answer_key():
    assert "<AnswerKey>" in refusal("<QuestionForm/>")


def test_answer_key_needs_a_question():
    assert "at least one Question" in refusal(f'<AnswerKey xmlns="{ANSWER_KEY_NS}"></AnswerKey>')


def test_answer_key_questions_must_be_unique():
    question = "<Question><QuestionIdentifier>q</QuestionIdentifier><AnswerOption><SelectionIdentifier>a</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption></Question>"
    assert "more than one Question for QuestionIdentifier 'q'" in refusal(f'<AnswerKey xmlns="{ANSWER_KEY_NS}">{question * 2}</AnswerKey>')


def test_answer_option_needs_a_selection_and_an_integer_score():
    no_selection = answer_key().replace("<SelectionIdentifier>wren</SelectionIdentifier>", "")
    assert "at least one SelectionIdentifier" in refusal(no_selection)
    fractional = answer_key().replace("<AnswerScore>10</AnswerScore>", "<AnswerScore>1.5</AnswerScore>")
    assert "AnswerScore must be a whole number" in refusal(fractional)


def test_percentage_mapping_maximum_must_be_positive():
    assert "MaximumSummedScore must be at least 1" in refusal(answer_key(PERCENTAGE.replace(">15<", ">0<")))


def test_scale_multiplier_must_be_a_decimal():
    assert "SummedScoreMultiplier must be a decimal" in refusal(answer_key(SCALE.format("two")))


def test_overlapping_ranges_are_refused():
    overlapping = RANGES.replace("<InclusiveLowerBound>8<", "<InclusiveLowerBound>7<")
    assert "overlap" in refusal(answer_key(overlapping))


def test_range_bounds_must_be_in_order():
    backwards = RANGES.replace("<InclusiveUpperBound>7<", "<InclusiveUpperBound>4<")
    assert "InclusiveLowerBound (5) is larger than InclusiveUpperBound (4)" in refusal(answer_key(backwards))


def test_range_mapping_needs_an_out_of_range_value():
    missing = RANGES.replace("<OutOfRangeQualificationValue>0</OutOfRangeQualificationValue>", "")
    assert "OutOfRangeQualificationValue" in refusal(answer_key(missing))


def test_mapping_must_be_exactly_one_kind():
    both = PERCENTAGE.replace("</QualificationValueMapping>", SCALE.format("2")[len("<QualificationValueMapping>"):])
    assert "exactly one of PercentageMapping" in refusal(answer_key(both))


# --- checking against the test ----------------------------------------------------------------------------------


def test_answer_key_matching_its_test_is_accepted():
    form = parse_test(QUESTION_FORM)
    assert parse_answer_key(answer_key(), form=form).questions[0].identifier == "species"


def test_answer_key_naming_a_question_the_test_lacks_is_refused():
    with pytest.raises(InvalidQuestion) as caught:
        validate_against(parse_answer_key(answer_key().replace(">colours<", ">colors<")), parse_test(QUESTION_FORM))
    assert "QuestionIdentifier 'colors', which the Test does not have" in str(caught.value)


def test_answer_key_naming_a_selection_the_question_lacks_is_refused():
    with pytest.raises(InvalidQuestion) as caught:
        validate_against(parse_answer_key(answer_key().replace(">wren<", ">eagle<")), parse_test(QUESTION_FORM))
    assert "SelectionIdentifier 'eagle'" in str(caught.value) and "robin, wren, finch" in str(caught.value)


def test_answer_option_with_more_selections_than_the_question_allows_is_refused():
    two_for_radio = answer_key().replace(
        "<SelectionIdentifier>robin</SelectionIdentifier>",
        "<SelectionIdentifier>robin</SelectionIdentifier><SelectionIdentifier>wren</SelectionIdentifier>",
    )
    with pytest.raises(InvalidQuestion) as caught:
        parse_answer_key(two_for_radio, form=parse_test(QUESTION_FORM))
    assert "could never match" in str(caught.value)


# --- scoring ------------------------------------------------------------------------------------------------------


def test_without_mapping_the_value_is_the_plain_sum():
    assert score(key_with(), PERFECT) == 15


def test_an_option_scores_only_for_exactly_its_selection_set():
    key = key_with()
    assert summed_score(key, {"species": {"robin"}, "colours": {"red"}}) == 10
    assert summed_score(key, {"species": {"robin"}, "colours": {"red", "brown", "grey"}}) == 10
    assert summed_score(key, {"species": {"robin"}, "colours": {"brown", "red"}}) == 15


def test_negative_scores_are_added():
    assert score(key_with(), {"species": {"wren"}, "colours": {"red", "brown"}}) == 0


def test_default_score_applies_when_no_option_matches():
    assert summed_score(key_with(), {"species": {"finch"}}) == 1
    assert summed_score(key_with(), {}) == 1  # unanswered: no option matches either


def test_a_free_text_answer_counts_as_its_own_single_selection():
    assert summed_score(key_with(), {"species": " robin "}) == 10
    assert summed_score(key_with(), {"species": ""}) == 1


def test_percentage_mapping_rounds_to_the_nearest_integer():
    key = key_with(PERCENTAGE)
    assert score(key, PERFECT) == 100
    assert score(key, {"species": {"robin"}}) == 67  # 10 / 15 = 66.67 %
    assert score(key, {"species": {"wren"}}) == -33  # -5 / 15 = -33.3 %


def test_percentage_mapping_rounds_halves_away_from_zero():
    key = parse_answer_key(answer_key(PERCENTAGE.replace(">15<", ">8<")))
    assert score(key, {"species": {"finch"}}) == 13  # 1 / 8 = 12.5 %
    assert score(key, {"species": {"wren"}, "colours": {"red", "brown"}}) == 0
    assert score(key, {"species": {"wren"}}) == -63  # -5 / 8 = -62.5 %


def test_scale_mapping_multiplies_and_rounds_half_away_from_zero():
    assert key_with(SCALE.format("3")).mapping == ScaleMapping(Decimal("3"))
    assert score(key_with(SCALE.format("3")), PERFECT) == 45
    assert score(key_with(SCALE.format("0.5")), {"species": {"finch"}}) == 1  # 0.5 -> 1
    assert score(key_with(SCALE.format("0.5")), {"species": {"wren"}}) == -3  # -2.5 -> -3
    assert score(key_with(SCALE.format("0.33")), PERFECT) == 5  # 4.95 -> 5


def test_range_mapping_picks_the_range_holding_the_sum_inclusively():
    key = key_with(RANGES)
    assert isinstance(key.mapping, RangeMapping)
    assert score(key, PERFECT) == 100  # 15: upper bound of the second range
    assert score(key, {"species": {"wren"}, "colours": {"red", "brown"}}) == 0  # 0: out of range
    assert score(key, {"colours": {"red", "brown"}, "species": {"finch"}}) == 50  # 6


def test_range_mapping_uses_the_out_of_range_value_for_negative_sums():
    assert score(key_with(RANGES), {"species": {"wren"}}) == 0
