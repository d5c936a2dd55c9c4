"""Questions built for many rows at once are exactly what the one-row path builds, and ids keep their shape."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kempelen.core.errors import InvalidParameter
from kempelen.core.ids import ENTITY_ID
from kempelen.marketplace.actions._batch_rows import LayoutRenderer, entity_ids
from kempelen.questions.layouts import layout_as_html_question, render_layout

NAMES = ["a", "b_2", "Cc"]
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(texts, st.sampled_from(["${a}", "${b_2}", "${Cc}", "]]>", "]", ">", "${ a }"])),
                   min_size=1, max_size=12),
    values=st.lists(st.one_of(texts, st.sampled_from(["]]", "]", "<&>\"'", "😀", "${a}"])), min_size=3, max_size=3),
    frame_height=st.integers(min_value=0, max_value=5000),
)
def test_a_rows_question_equals_render_layout_then_layout_as_html_question(parts, values, frame_height):
    html = "".join(parts) + "${a}${b_2}${Cc}"
    row = dict(zip(NAMES, values, strict=True))
    try:
        expected = layout_as_html_question(render_layout(html, row), frame_height)
    except InvalidParameter:
        with pytest.raises(InvalidParameter):
            LayoutRenderer(html, frame_height, ["Cc", "a", "b_2"]).question([row["Cc"], row["a"], row["b_2"]])
        return
    renderer = LayoutRenderer(html, frame_height, ["Cc", "a", "b_2"])
    assert renderer.question([row["Cc"], row["a"], row["b_2"]]) == expected


def test_the_columns_must_be_the_templates_variables():
    with pytest.raises(InvalidParameter, match="uses the variables a"):
        LayoutRenderer("${a}", 0, ["a", "b"])
    with pytest.raises(InvalidParameter):
        LayoutRenderer("${a}${b}", 0, ["a", "a"])


def test_a_value_xml_cannot_carry_is_named_by_its_column():
    renderer = LayoutRenderer("<p>${a}</p><p>${b}</p>", 0, ["a", "b"])
    assert renderer.problem(["fine", "bell\x07"]) == (
        "the value of 'b' contains the character U+0007, which a HIT cannot carry; remove it."
    )


def test_a_question_over_65535_bytes_is_refused_with_its_size():
    renderer = LayoutRenderer("<p>${a}</p>", 0, ["a"])
    assert renderer.problem(["x" * 65_000]) is None
    problem = renderer.problem(["😀" * 16_400])
    assert problem is not None and "would be 65,804 bytes; at most 65,535" in problem


def test_ids_are_shaped_like_mturks_all_different_and_in_order():
    made = entity_ids(5000)
    assert len(set(made)) == 5000 and made == sorted(made)
    assert all(len(i) == 30 and ENTITY_ID.match(i) for i in made)
