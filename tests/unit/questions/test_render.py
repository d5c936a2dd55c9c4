"""QuestionForms rendered as HTML form controls: what a worker sees and what their browser posts back.

The round-trip tests play the browser: they read the controls the rendered HTML holds, fill them in as a worker
would, post them the way a browser does (text boxes always, ticked boxes and chosen options only), and check that
``answers_from_question_form`` reads exactly the answers the worker gave.
"""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kempelen.core.errors import InvalidQuestion
from kempelen.questions.answers import (
    OTHER_SELECTION_SUFFIX,
    answers_from_question_form,
    other_selection_field,
)
from kempelen.questions.formats import parse_question
from kempelen.questions.questionform import (
    Binary,
    FormattedContent,
    FreeTextAnswer,
    Question,
    QuestionForm,
    Selection,
    SelectionAnswer,
    Text,
)
from kempelen.questions.render import formatted_html, needs_file_upload, render_question_form
from kempelen.questions.simulation import synthetic_answers

from .samples import FORM_NS, QUESTION_FORM, question_form, selection
from .test_simulation import free_text_specs, selection_specs

# --- a small browser ------------------------------------------------------------------------------------------


@dataclass
class Control:
    tag: str  # input | textarea | select
    attrs: dict[str, str]
    options: list[dict[str, str]] = field(default_factory=list)
    text: str = ""
    label: str = ""

    @property
    def name(self) -> str:
        return self.attrs.get("name", "")

    @property
    def type(self) -> str:
        return self.attrs.get("type", "text") if self.tag == "input" else self.tag


class Page(HTMLParser):
    """The form controls of a rendered page, their labels, and every element's id and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[Control] = []
        self.labels: dict[str, str] = {}
        self.ids: set[str] = set()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self._select: Control | None = None
        self._option: dict[str, str] | None = None
        self._textarea: Control | None = None
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self.feed(html)
        self.close()
        for control in self.controls:
            control.label = self.labels.get(control.attrs.get("id", ""), "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value if value is not None else "" for key, value in attrs}
        self.elements.append((tag, values))
        if "id" in values:
            assert values["id"] not in self.ids, f"duplicate id {values['id']}"
            self.ids.add(values["id"])
        if tag == "label":
            self._label_for, self._label_text = values.get("for"), []
        elif tag == "img" and self._label_for is not None:
            self._label_text.append(values.get("alt", ""))
        elif tag == "input":
            self.controls.append(Control(tag, values))
        elif tag == "textarea":
            self._textarea = Control(tag, values)
            self.controls.append(self._textarea)
        elif tag == "select":
            self._select = Control(tag, values)
            self.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = dict(values, text="")
            self._select.options.append(self._option)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_for is not None:
            self.labels[self._label_for] = " ".join("".join(self._label_text).split())
            self._label_for = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "option":
            self._option = None

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            self._label_text.append(data)
        if self._textarea is not None:
            self._textarea.text += data
        if self._option is not None:
            self._option["text"] += data

    def named(self, name: str) -> list[Control]:
        return [control for control in self.controls if control.name == name]

    def control(self, control_id: str) -> Control:
        return next(control for control in self.controls if control.attrs.get("id") == control_id)


def fill(page: Page, answers: dict[str, list[str]]) -> None:
    """A worker clears every control, then types and picks ``answers``; each must be possible on the page."""
    for control in page.controls:
        control.attrs.pop("checked", None)
        control.attrs["value"] = "" if control.type in ("text", "file") else control.attrs.get("value", "")
        control.text = ""
        for option in control.options:
            option.pop("selected", None)
    for name, values in answers.items():
        controls = page.named(name)
        assert controls, f"the page has no control named {name!r}"
        kind = controls[0].type
        if kind in ("text", "textarea"):
            assert len(controls) == 1 and len(values) == 1
            controls[0].attrs["value"] = values[0]
            controls[0].text = "\n" + values[0]  # as the page holds it: a newline right after <textarea>
        elif kind in ("radio", "checkbox"):
            offered = {control.attrs["value"]: control for control in controls}
            assert len(values) <= 1 or kind == "checkbox", f"{name}: several values for radio buttons"
            for value in values:
                assert value in offered, f"{name}: no choice with the value {value!r}"
                offered[value].attrs["checked"] = ""
        else:
            (select,) = controls
            offered_options = {option["value"]: option for option in select.options}
            assert len(values) <= 1 or "multiple" in select.attrs
            for value in values:
                assert value in offered_options, f"{name}: no option with the value {value!r}"
                offered_options[value]["selected"] = ""
    # Typing one's own answer, a worker also picks "Other" where the question offers it as a choice.
    for name, values in answers.items():
        if not name.endswith(OTHER_SELECTION_SUFFIX) or not values or not values[0].strip():
            continue
        group = page.named(name.removesuffix(OTHER_SELECTION_SUFFIX))
        if any("checked" in c.attrs for c in group) or any("selected" in o for c in group for o in c.options):
            continue
        for control in group:
            if control.type == "radio" and control.attrs["value"] == "":
                control.attrs["checked"] = ""
            for option in control.options:
                if option["text"].startswith("Other"):
                    option["selected"] = ""


def post(page: Page) -> dict[str, list[str]]:
    """What a browser sends for the page's controls (disabled ones and file inputs left out)."""
    posted: dict[str, list[str]] = {}

    def add(name: str, value: str) -> None:
        posted.setdefault(name, []).append(value)

    for control in page.controls:
        if "disabled" in control.attrs or not control.name or control.type == "file":
            continue
        if control.type == "textarea":
            add(control.name, control.text.removeprefix("\n"))
        elif control.type in ("radio", "checkbox"):
            if "checked" in control.attrs:
                add(control.name, control.attrs["value"])
        elif control.tag == "select":
            chosen = [option["value"] for option in control.options if "selected" in option]
            if not chosen and "multiple" not in control.attrs and control.options:
                chosen = [control.options[0]["value"]]
            for value in chosen:
                add(control.name, value)
        else:
            add(control.name, control.attrs.get("value", ""))
    return posted


def form_of(body: str) -> QuestionForm:
    form = parse_question(question_form(body))
    assert isinstance(form, QuestionForm)
    return form


def question(identifier: str, answer: str, *, content: str = "<Text>Question?</Text>", display: str = "",
             required: bool = False) -> str:
    return (
        f"<Question><QuestionIdentifier>{identifier}</QuestionIdentifier>"
        + (f"<DisplayName>{display}</DisplayName>" if display else "")
        + f"<IsRequired>{'true' if required else 'false'}</IsRequired>"
        f"<QuestionContent>{content}</QuestionContent><AnswerSpecification>{answer}</AnswerSpecification></Question>"
    )


def choices(style: str = "", counts: str = "", other: str = "", items: str = "") -> str:
    items = items or selection("a", "Apple") + selection("b", "Banana") + selection("c", "Cherry")
    suggestion = f"<StyleSuggestion>{style}</StyleSuggestion>" if style else ""
    return f"<SelectionAnswer>{counts}{suggestion}<Selections>{items}{other}</Selections></SelectionAnswer>"


def sample() -> QuestionForm:
    form = parse_question(QUESTION_FORM)
    assert isinstance(form, QuestionForm)
    return form


# --- content ------------------------------------------------------------------------------------------------------


def test_every_kind_of_content_is_shown():
    html = render_question_form(form_of(
        "<Overview><Title>Read first</Title><Text>First paragraph.\n\nSecond paragraph.</Text>"
        "<List><ListItem>One</ListItem><ListItem>Two</ListItem></List></Overview>"
        + question("q1", "<FreeTextAnswer/>", content=(
            "<Binary><MimeType><Type>image</Type><SubType>png</SubType></MimeType>"
            "<DataURL>https://media.example.org/cat.png</DataURL><AltText>A grey cat</AltText></Binary>"
            "<Binary><MimeType><Type>audio</Type><SubType>mpeg</SubType></MimeType>"
            "<DataURL>https://media.example.org/purr.mp3</DataURL><AltText>A cat purring</AltText></Binary>"
            "<Binary><MimeType><Type>video</Type></MimeType>"
            "<DataURL>https://media.example.org/cat.mp4</DataURL><AltText>A cat jumping</AltText></Binary>"
            "<FormattedContent><![CDATA[<p>Is it <b>grey</b>?</p>]]></FormattedContent>"
            "<EmbeddedBinary><EmbeddedMimeType><Type>application</Type><SubType>x-shockwave-flash</SubType>"
            "</EmbeddedMimeType><DataURL>https://media.example.org/game.swf</DataURL><AltText>A game</AltText>"
            "<Width>300</Width><Height>200</Height></EmbeddedBinary>"
        ))
    ))
    assert '<h2 class="qf-title">Read first</h2>' in html
    assert '<p class="qf-text">First paragraph.</p>' in html and '<p class="qf-text">Second paragraph.</p>' in html
    assert "<li>One</li><li>Two</li>" in html
    assert '<img class="qf-media" src="https://media.example.org/cat.png" alt="A grey cat">' in html
    assert re.search(r'<audio controls[^>]*src="https://media.example.org/purr.mp3"[^>]*aria-label="A cat purring"', html)
    assert re.search(r'<video controls[^>]*src="https://media.example.org/cat.mp4"', html)
    assert "Open the sound file" in html and "Open the video file" in html
    assert "<p>Is it <b>grey</b>?</p>" in html
    # Applets and Flash are never embedded: a link to the file instead.
    assert '<a href="https://media.example.org/game.swf" target="_blank" rel="noopener noreferrer">A game' in html
    assert "<object" not in html and "<embed" not in html


def test_a_title_inside_a_question_is_a_lower_heading_than_one_in_an_overview():
    html = render_question_form(form_of(question("q1", "<FreeTextAnswer/>", content="<Title>Sub</Title>")))
    assert '<h3 class="qf-title">Sub</h3>' in html


def test_requester_text_is_shown_as_text_never_as_markup():
    evil = "&lt;script&gt;alert(document.cookie)&lt;/script&gt;"
    html = render_question_form(form_of(
        "<Overview><Title>" + evil + "</Title><List><ListItem>" + evil + "</ListItem></List></Overview>"
        + question("q1", choices(items=selection("a", evil)), display=evil, content=f"<Text>{evil}</Text>")
        + question("q2", "<FreeTextAnswer><DefaultText>\"&gt;&lt;img src=x onerror=alert(1)&gt;</DefaultText>"
                         "</FreeTextAnswer>")
        + question("q3", "<FreeTextAnswer/>", content=(
            "<Binary><MimeType><Type>image</Type></MimeType>"
            "<DataURL>https://x.example.org/a\"onerror=\"alert(1)</DataURL><AltText>\" onload=\"alert(2)</AltText></Binary>"
        ))
    ))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in html
    assert "onerror=alert" not in html.replace("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;", "")
    assert 'value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in html
    assert 'src="https://x.example.org/a&quot;onerror=&quot;alert(1)"' in html
    assert 'alt="&quot; onload=&quot;alert(2)"' in html
    page = Page(html)
    assert [tag for tag, _ in page.elements if tag in ("script", "img")] == ["img"]
    assert not any(name.startswith("on") for _, attrs in page.elements for name in attrs)


def test_formatted_content_keeps_only_allowed_markup_and_opens_links_in_a_new_tab():
    html = formatted_html(
        '<p class="messages" id="main" style="color:red" title="Note">See <a href="https://example.org/guide">'
        'the guide</a> or <a href="mailto:help@example.org">write</a>.</p>'
        '<img src="https://example.org/a.png" alt="A" width="40" height="100%"/><br/>'
        '<table border="1"><tr><td colspan="2">cell &amp; more &lt;b&gt;</td></tr></table>'
    )
    assert html == (
        '<p title="Note">See <a href="https://example.org/guide" target="_blank" rel="noopener noreferrer">'
        'the guide</a> or <a href="mailto:help@example.org" target="_blank" rel="noopener noreferrer">write</a>.</p>'
        '<img src="https://example.org/a.png" alt="A" width="40" height="100%"><br>'
        '<table border="1"><tr><td colspan="2">cell &amp; more &lt;b&gt;</td></tr></table>'
    )


@pytest.mark.parametrize("xhtml", [
    "<p>hi</p><script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<p onclick="alert(1)">x</p>',
    "<p>unclosed",
])
def test_formatted_content_that_did_not_come_through_the_parser_is_refused_not_rendered(xhtml):
    form = QuestionForm(FORM_NS, (Question("q", None, False, (FormattedContent(xhtml),), FreeTextAnswer()),))
    with pytest.raises(InvalidQuestion):
        render_question_form(form)


# --- answers --------------------------------------------------------------------------------------------------


def test_free_text_answers_carry_their_constraints_and_default_text():
    page = Page(render_question_form(form_of(
        question("zip", '<FreeTextAnswer><Constraints><Length minLength="5" maxLength="5"/></Constraints>'
                        "<DefaultText>00000</DefaultText></FreeTextAnswer>", required=True, display="ZIP code")
        + question("notes", "<FreeTextAnswer><NumberOfLinesSuggestion>4</NumberOfLinesSuggestion>"
                            "<DefaultText>\nstarts on a new line</DefaultText></FreeTextAnswer>")
        + question("age", '<FreeTextAnswer><Constraints><IsNumeric minValue="18" maxValue="99"/></Constraints>'
                          "</FreeTextAnswer>")
        + question("delta", '<FreeTextAnswer><Constraints><IsNumeric minValue="-10"/></Constraints></FreeTextAnswer>')
    )))
    zip_code = page.named("zip")[0]
    assert zip_code.type == "text" and zip_code.label == "Your answer to ZIP code"
    assert {k: zip_code.attrs.get(k) for k in ("value", "minlength", "maxlength", "required")} == {
        "value": "00000", "minlength": "5", "maxlength": "5", "required": ""}
    notes = page.named("notes")[0]
    assert notes.tag == "textarea" and notes.attrs["rows"] == "4" and "required" not in notes.attrs
    assert notes.text.removeprefix("\n") == "\nstarts on a new line"
    age = page.named("age")[0]
    assert age.attrs["inputmode"] == "decimal" and age.attrs["type"] == "text"
    assert "inputmode" not in page.named("delta")[0].attrs  # phone number pads often lack a minus sign
    text = strip_tags(str(render_question_form(form_of(
        question("age", '<FreeTextAnswer><Constraints><IsNumeric minValue="18" maxValue="99"/></Constraints>'
                        "</FreeTextAnswer>")))))
    assert "A number from 18 to 99." in text


def strip_tags(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(("style", "counts", "kind", "multiple"), [
    ("radiobutton", "", "radio", False),
    ("", "", "radio", False),
    ("checkbox", "", "checkbox", False),
    ("multichooser", "<MinSelectionCount>1</MinSelectionCount><MaxSelectionCount>3</MaxSelectionCount>", "checkbox", True),
    ("dropdown", "", "select", False),
    ("combobox", "", "select", False),
    ("list", "", "radio", False),
    ("list", "<MaxSelectionCount>2</MaxSelectionCount>", "select", True),
    ("dropdown", "<MaxSelectionCount>2</MaxSelectionCount>", "select", True),
    ("radiobutton", "<MaxSelectionCount>2</MaxSelectionCount>", "checkbox", True),
])
def test_each_style_suggestion_gets_a_fitting_labelled_control(style, counts, kind, multiple):
    html = render_question_form(form_of(question("fruit", choices(style, counts), display="Fruit", required=True)))
    page = Page(html)
    controls = page.named("fruit")
    assert {control.type if control.tag == "input" else control.tag for control in controls} == {kind}
    if kind == "select":
        (select,) = controls
        assert ("multiple" in select.attrs) == multiple
        assert [option["text"] for option in select.options if option["value"]] == ["Apple", "Banana", "Cherry"]
        assert select.label in ("Your choice for Fruit", "Your choices for Fruit")
    else:
        assert [control.label for control in controls] == ["Apple", "Banana", "Cherry"]
        assert re.search(r"<fieldset[^>]*>\s*<legend>Fruit <span class=\"qf-required\">\(required\)</span></legend>", html)
    if multiple:
        assert "Choose up to" in strip_tags(html)


def test_selection_counts_are_explained():
    html = render_question_form(form_of(
        question("two", choices("checkbox", "<MinSelectionCount>2</MinSelectionCount><MaxSelectionCount>2</MaxSelectionCount>"))
        + question("range", choices("checkbox", "<MinSelectionCount>2</MinSelectionCount><MaxSelectionCount>9</MaxSelectionCount>"))
    ))
    assert "Choose 2." in strip_tags(html)
    assert "Choose from 2 to 3." in strip_tags(html)  # never more than the question offers


def test_pictures_as_choices_are_shown_even_when_a_drop_down_was_suggested():
    picture = ("<Selection><SelectionIdentifier>cat</SelectionIdentifier><Binary><MimeType><Type>image</Type>"
               "</MimeType><DataURL>https://media.example.org/cat.png</DataURL><AltText>A cat</AltText></Binary></Selection>")
    page = Page(render_question_form(form_of(question("animal", choices("dropdown", items=picture + selection("dog"))))))
    assert [(control.type, control.label) for control in page.named("animal")] == [("radio", "A cat"), ("radio", "dog")]


def test_formatted_choices_keep_their_markup_in_radio_buttons_and_become_text_in_drop_downs():
    fancy = ("<Selection><SelectionIdentifier>finch</SelectionIdentifier>"
             "<FormattedContent><![CDATA[<i>Finch</i> (small)]]></FormattedContent></Selection>")
    assert "<i>Finch</i> (small)" in render_question_form(form_of(question("b", choices("radiobutton", items=fancy))))
    page = Page(render_question_form(form_of(question("b", choices("dropdown", items=fancy)))))
    assert [option["text"] for option in page.named("b")[0].options] == ["Choose…", "Finch (small)"]


def test_other_selection_offers_a_text_box_under_the_documented_name():
    other = '<OtherSelection><Constraints><Length minLength="3" maxLength="40"/></Constraints></OtherSelection>'
    for style in ("radiobutton", "dropdown", "checkbox"):
        page = Page(render_question_form(form_of(question("species", choices(style, other=other), display="Species"))))
        (text,) = page.named(other_selection_field("species"))
        assert text.label == "Your own answer to Species"
        assert text.attrs["maxlength"] == "40"
    radios = Page(render_question_form(form_of(question("species", choices("radiobutton", other=other))))).named("species")
    assert radios[-1].attrs["value"] == "" and radios[-1].label == "Other (type it below)"


def test_a_file_upload_question_is_a_file_input_and_the_page_must_post_multipart():
    form = form_of(question("photo", "<FileUploadAnswer><MaxFileSizeInBytes>5000000</MaxFileSizeInBytes>"
                                     "<MinFileSizeInBytes>1024</MinFileSizeInBytes></FileUploadAnswer>", required=True))
    html = render_question_form(form)
    (upload,) = Page(html).named("photo")
    assert upload.type == "file" and "required" in upload.attrs and upload.label.startswith("Your file")
    assert "A file from 1 KB to 5 MB." in strip_tags(html)
    assert needs_file_upload(form) and not needs_file_upload(sample())


def test_each_question_is_a_group_named_by_its_display_name_or_number():
    html = render_question_form(sample())
    legends = re.findall(r"<legend>(.*?)</legend>", html)
    assert [strip_tags(legend) for legend in legends] == [
        "Postal code (required)", "Question 2 (required)", "Question 3", "Question 4 (required)", "Question 5"]
    page = Page(html)
    for control in page.controls:
        assert control.label, f"{control.attrs} has no label"


# --- errors, values, read-only ---------------------------------------------------------------------------------


def test_errors_are_shown_next_to_their_question_and_tied_to_its_controls():
    errors = {"zip": "Enter exactly five digits.", "colours": "Choose at least 2 options."}
    html = render_question_form(sample(), errors=errors)
    page = Page(html)
    zip_code = page.named("zip")[0]
    assert zip_code.attrs["aria-invalid"] == "true"
    assert zip_code.attrs["aria-describedby"].split()[0] == "qf-q1-error"
    assert '<p class="qf-error" id="qf-q1-error" role="alert"><strong>Please fix:</strong> Enter exactly five digits.</p>' in html
    assert all(box.attrs["aria-describedby"].startswith("qf-q3-error") for box in page.named("colours"))
    # A summary at the top links to each question that needs changing.
    assert '<a href="#qf-q1-answer">Postal code</a>: Enter exactly five digits.' in html
    assert '<a href="#qf-q3-choice1">Question 3</a>: Choose at least 2 options.' in html
    assert "aria-invalid" not in str(page.named("count")[0].attrs)


def test_values_re_fill_what_the_worker_typed_and_picked():
    values = {"zip": ["1234"], "species": [""], other_selection_field("species"): ["Blackbird"],
              "colours": ["red", "grey"], "count": ["many"], "comment": [""]}
    page = Page(render_question_form(sample(), values=values, errors={"zip": "Enter exactly five digits."}))
    assert page.named("zip")[0].attrs["value"] == "1234"
    assert [c.attrs["value"] for c in page.named("colours") if "checked" in c.attrs] == ["red", "grey"]
    assert page.named(other_selection_field("species"))[0].attrs["value"] == "Blackbird"
    # The "Other" choice is picked again, since the worker's own answer was what they gave.
    assert [c.label for c in page.named("species") if "checked" in c.attrs] == ["Other (type it below)"]
    assert page.named("count")[0].attrs["value"] == "many"


def test_values_from_a_django_query_dict_re_fill_every_chosen_option():
    from django.http import QueryDict

    form = form_of(question("fruit", choices("dropdown", "<MaxSelectionCount>3</MaxSelectionCount>"))
                   + question("word", "<FreeTextAnswer><DefaultText>hello</DefaultText></FreeTextAnswer>"))
    page = Page(render_question_form(form, values=QueryDict("fruit=a&fruit=c&word=")))
    assert [o["value"] for o in page.named("fruit")[0].options if "selected" in o] == ["a", "c"]
    assert page.named("word")[0].attrs["value"] == ""  # cleared by the worker, not the DefaultText again


def test_read_only_disables_every_control_and_asks_for_nothing():
    page = Page(render_question_form(sample(), read_only=True))
    assert page.controls and all("disabled" in control.attrs for control in page.controls)
    assert not any("required" in control.attrs for control in page.controls)
    assert post(page) == {}


# --- round trip -----------------------------------------------------------------------------------------------


def round_trip(form: QuestionForm, answers: dict[str, list[str]]) -> None:
    page = Page(render_question_form(form))
    fill(page, answers)
    posted = post(page)
    assert answers_from_question_form(form, posted) == answers_from_question_form(form, answers)


def test_the_sample_form_submitted_through_its_rendered_controls_gives_the_worker_s_answers():
    form = sample()
    answers = {"zip": ["02139"], "species": [], other_selection_field("species"): ["Blackbird"],
               "colours": ["red", "blue"], "count": ["3"], "comment": ["Lovely\nbirds"]}
    round_trip(form, answers)
    xml, errors = answers_from_question_form(form, post(_filled(form, answers)))
    assert errors == {}
    assert "<OtherSelectionText>Blackbird</OtherSelectionText>" in xml


def _filled(form: QuestionForm, answers: dict[str, list[str]]) -> Page:
    page = Page(render_question_form(form))
    fill(page, answers)
    return page


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_synthetic_answers_to_the_sample_round_trip_through_the_rendered_form(seed):
    form = sample()
    answers = synthetic_answers(form, random.Random(seed))
    round_trip(form, answers)
    assert answers_from_question_form(form, post(_filled(form, answers)))[1] == {}


@st.composite
def styled_selection_specs(draw: st.DrawFn) -> SelectionAnswer:
    spec = draw(selection_specs())
    style = draw(st.sampled_from((None, "radiobutton", "dropdown", "checkbox", "list", "combobox", "multichooser")))
    if draw(st.booleans()):
        spec = dataclasses.replace(spec, selections=tuple(
            Selection(s.identifier, FormattedContent(f"<b>{s.identifier}</b> &amp; co")) if i % 2 else s
            for i, s in enumerate(spec.selections)))
    if draw(st.booleans()):
        picture = Binary("image", "png", "https://media.example.org/x.png", "Picture")
        spec = dataclasses.replace(spec, selections=(*spec.selections, Selection("pic", picture)))
    return dataclasses.replace(spec, style_suggestion=style)


@st.composite
def free_text_with_lines(draw: st.DrawFn) -> FreeTextAnswer:
    return dataclasses.replace(draw(free_text_specs()), number_of_lines=draw(st.sampled_from((None, 1, 3))))


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(st.one_of(free_text_with_lines(), styled_selection_specs()), min_size=1, max_size=6),
    required=st.lists(st.booleans(), min_size=6, max_size=6),
    names=st.lists(st.sampled_from(("q", "Q 1", "a.b", "é", "x&y", "<q>")), min_size=6, max_size=6),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_synthetic_answers_to_any_form_round_trip_through_the_rendered_form(specs, required, names, seed):
    questions = tuple(
        Question(f"{names[i]}{i}", None, required[i], (Text("?"),), spec) for i, spec in enumerate(specs)
    )
    form = QuestionForm(FORM_NS, questions)
    answers = synthetic_answers(form, random.Random(seed))
    round_trip(form, answers)
    assert answers_from_question_form(form, post(_filled(form, answers)))[1] == {}
