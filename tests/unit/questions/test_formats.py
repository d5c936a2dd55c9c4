"""Parsing and validating Question and Test XML: ExternalQuestion, HTMLQuestion, QuestionForm."""

from __future__ import annotations

import pytest

from kempelen.core.errors import InvalidParameter, InvalidQuestion
from kempelen.questions.formats import (
    Binary,
    BulletList,
    EmbeddedBinary,
    ExternalQuestion,
    FileUploadAnswer,
    FormattedContent,
    FreeTextAnswer,
    HTMLQuestion,
    Overview,
    QuestionForm,
    SelectionAnswer,
    Text,
    Title,
    parse_question,
    parse_test,
)

from .samples import (
    EXTERNAL_NS,
    EXTERNAL_QUESTION,
    FORM_2017_NS,
    FORM_NS,
    HTML_NS,
    HTML_QUESTION,
    QUESTION_FORM,
    free_text_question,
    question_form,
    selection,
    selection_question,
)


def external(url: str, frame_height: str = "400") -> str:
    return (
        f'<ExternalQuestion xmlns="{EXTERNAL_NS}"><ExternalURL>{url}</ExternalURL>'
        f"<FrameHeight>{frame_height}</FrameHeight></ExternalQuestion>"
    )


def refusal(xml: str, error: type[Exception] = InvalidQuestion) -> str:
    with pytest.raises(error) as caught:
        parse_question(xml)
    return str(caught.value)


# --- ExternalQuestion -----------------------------------------------------------------------------------------


def test_external_question_decodes_escaped_ampersands_after_an_xml_declaration():
    question = parse_question(EXTERNAL_QUESTION)
    assert question == ExternalQuestion(
        external_url="https://tasks.example.org/experiment?study=colour-naming&condition=B&lang=en",
        frame_height=0,
    )


def test_external_url_must_be_https():
    message = refusal(external("http://tasks.example.org/hit"))
    assert "ExternalURL" in message and "https://" in message


def test_external_url_must_have_a_host():
    assert "host" in refusal(external("https:///path-only"))


def test_external_url_may_not_contain_spaces():
    assert "spaces" in refusal(external("https://example.org/a b"))


def test_external_url_is_required():
    message = refusal(f'<ExternalQuestion xmlns="{EXTERNAL_NS}"><FrameHeight>400</FrameHeight></ExternalQuestion>')
    assert "missing the required element <ExternalURL>" in message


def test_external_url_may_not_be_absurdly_long():
    assert "characters long" in refusal(external("https://example.org/?q=" + "x" * 9000))


def test_frame_height_is_required():
    message = refusal(
        f'<ExternalQuestion xmlns="{EXTERNAL_NS}"><ExternalURL>https://a.example/</ExternalURL></ExternalQuestion>'
    )
    assert "FrameHeight" in message


@pytest.mark.parametrize("height", ["-1", "tall", "12.5", ""])
def test_frame_height_must_be_a_non_negative_whole_number(height):
    assert "FrameHeight" in refusal(external("https://a.example/", height))


def test_external_question_refuses_unknown_elements():
    xml = external("https://a.example/").replace("</ExternalQuestion>", "<Width>3</Width></ExternalQuestion>")
    message = refusal(xml)
    assert "unknown element <Width>" in message and "ExternalURL" in message


# --- HTMLQuestion ---------------------------------------------------------------------------------------------


def test_html_question_keeps_the_aws_sample_page_intact():
    question = parse_question(HTML_QUESTION)
    assert isinstance(question, HTMLQuestion)
    assert question.frame_height == 450
    assert "<form name='mturk_form'" in question.html_content
    assert "externalHIT_v1.js" in question.html_content


def test_html_content_is_required():
    message = refusal(f'<HTMLQuestion xmlns="{HTML_NS}"><FrameHeight>450</FrameHeight></HTMLQuestion>')
    assert "HTMLContent" in message


def test_html_content_must_not_be_blank():
    message = refusal(f'<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent>  </HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>')
    assert "empty" in message


def test_html_content_written_as_xml_instead_of_cdata_is_refused_with_a_hint():
    xml = f'<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><p>Hi</p></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>'
    assert "CDATA" in refusal(xml)


# --- document-level checks ------------------------------------------------------------------------------------


def test_unknown_root_element_is_refused_with_the_three_kinds_named():
    message = refusal("<Survey><Question/></Survey>")
    assert message.startswith(
        "Question must be an XML document of type 'HTMLQuestion', 'ExternalQuestion', or 'QuestionForm'"
    )


def test_missing_namespace_is_refused_naming_the_expected_one():
    message = refusal("<ExternalQuestion><ExternalURL>https://a.example/</ExternalURL><FrameHeight>0</FrameHeight></ExternalQuestion>")
    assert "no namespace" in message and EXTERNAL_NS in message


def test_a_namespace_of_another_kind_is_refused():
    message = refusal(external("https://a.example/").replace(EXTERNAL_NS, HTML_NS))
    assert EXTERNAL_NS in message


def test_children_in_another_namespace_are_refused():
    xml = (
        f'<ExternalQuestion xmlns="{EXTERNAL_NS}"><ExternalURL xmlns="urn:other">https://a.example/</ExternalURL>'
        "<FrameHeight>0</FrameHeight></ExternalQuestion>"
    )
    assert "urn:other" in refusal(xml)


def test_malformed_xml_is_refused_with_the_parser_position():
    message = refusal(f'<ExternalQuestion xmlns="{EXTERNAL_NS}"><ExternalURL>https://a.example/</ExternalQuestion>')
    assert "not well-formed" in message and "line 1" in message


def test_empty_document_is_refused():
    assert "empty" in refusal("   ")


def test_non_string_question_is_refused():
    assert "string" in refusal(None, InvalidParameter)  # type: ignore[arg-type]


def test_a_document_over_65535_utf8_bytes_is_refused_even_if_its_characters_fit():
    # 33,000 two-byte characters: under 65,535 characters, over 65,535 bytes.
    padding = "é" * 33_000
    xml = HTML_QUESTION.replace("What's up?", padding)
    assert len(xml) < 65_535 * 2 and len(xml.encode()) > 65_535
    assert "65,535 bytes" in refusal(xml, InvalidParameter)


def padded_html_question(total_bytes: int) -> str:
    base = HTML_QUESTION.replace("What's up?", "")
    return base.replace("<h1></h1>", "<h1>" + "x" * (total_bytes - len(base.encode())) + "</h1>")


def test_a_document_of_exactly_65535_bytes_is_accepted():
    xml = padded_html_question(65_535)
    assert len(xml.encode()) == 65_535
    assert isinstance(parse_question(xml), HTMLQuestion)


def test_a_document_of_65536_bytes_is_refused():
    assert "65,536 bytes long" in refusal(padded_html_question(65_536), InvalidParameter)


def test_billion_laughs_entity_expansion_is_refused():
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        + "".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10))
        + f']>\n<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent>&lol9;</HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>'
    )
    assert "DOCTYPE" in refusal(laughs)


def test_external_entities_are_refused():
    xml = (
        '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        f'<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent>&secret;</HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>'
    )
    assert "DOCTYPE" in refusal(xml)


def test_a_byte_order_mark_before_the_declaration_is_tolerated():
    assert isinstance(parse_question("\ufeff" + EXTERNAL_QUESTION), ExternalQuestion)


# --- QuestionForm ---------------------------------------------------------------------------------------------


def test_question_form_is_parsed_into_overviews_and_questions_in_document_order():
    form = parse_question(QUESTION_FORM)
    assert isinstance(form, QuestionForm)
    assert [type(item).__name__ for item in form.items] == [
        "Overview", "Question", "Question", "Overview", "Question", "Question", "Question",
    ]
    overview = form.items[0]
    assert isinstance(overview, Overview)
    assert overview.content[0] == Title("Bird identification test")
    assert overview.content[1] == Text("Answer the questions below about the photographs.")
    assert overview.content[2] == BulletList(("Be careful", "Take your time"))
    assert overview.content[3] == Binary("image", "jpeg", "https://images.example.org/birds/robin.jpg",
                                         "A small bird on a branch")
    assert isinstance(overview.content[4], FormattedContent)
    assert "&nbsp;" in overview.content[4].xhtml


def test_free_text_question_keeps_its_constraints():
    zip_question = parse_question(QUESTION_FORM).question("zip")  # type: ignore[union-attr]
    assert zip_question.display_name == "Postal code" and zip_question.is_required
    answer = zip_question.answer
    assert isinstance(answer, FreeTextAnswer)
    assert (answer.length.min_length, answer.length.max_length) == (5, 5)  # type: ignore[union-attr]
    assert answer.regexes[0].pattern == "^[0-9]{5}$"
    assert answer.regexes[0].error_text == "Enter exactly five digits."
    assert answer.number_of_lines == 1


def test_radio_selection_with_other_defaults_to_exactly_one_choice():
    answer = parse_question(QUESTION_FORM).question("species").answer  # type: ignore[union-attr]
    assert isinstance(answer, SelectionAnswer)
    assert answer.selection_identifiers == ("robin", "wren", "finch")
    assert (answer.min_selection_count, answer.max_selection_count) == (1, 1)
    assert answer.style_suggestion == "radiobutton"
    assert isinstance(answer.selections[2].label, FormattedContent)
    assert answer.other_selection is not None and answer.other_selection.length.min_length == 3  # type: ignore[union-attr]


def test_checkbox_selection_keeps_its_counts():
    answer = parse_question(QUESTION_FORM).question("colours").answer  # type: ignore[union-attr]
    assert isinstance(answer, SelectionAnswer)
    assert (answer.min_selection_count, answer.max_selection_count) == (2, 3)


def test_is_required_defaults_to_false():
    assert parse_question(QUESTION_FORM).question("comment").is_required is False  # type: ignore[union-attr]


def test_numeric_constraint_keeps_its_bounds():
    answer = parse_question(QUESTION_FORM).question("count").answer  # type: ignore[union-attr]
    assert answer.numeric.min_value == 1 and answer.numeric.max_value == 20  # type: ignore[union-attr]


def test_question_form_2017_namespace_is_accepted():
    form = parse_question(question_form(free_text_question(), FORM_2017_NS))
    assert isinstance(form, QuestionForm) and form.namespace == FORM_2017_NS


def test_file_upload_answer_is_parsed_in_the_2005_schema():
    upload = "<FileUploadAnswer><MaxFileSizeInBytes>1000</MaxFileSizeInBytes><MinFileSizeInBytes>10</MinFileSizeInBytes></FileUploadAnswer>"
    form = parse_question(question_form(free_text_question("doc", upload)))
    assert form.question("doc").answer == FileUploadAnswer(10, 1000)  # type: ignore[union-attr]


def test_file_upload_answer_is_refused_in_the_2017_schema():
    upload = "<FileUploadAnswer><MaxFileSizeInBytes>1000</MaxFileSizeInBytes><MinFileSizeInBytes>10</MinFileSizeInBytes></FileUploadAnswer>"
    assert "2017-11-06" in refusal(question_form(free_text_question("doc", upload), FORM_2017_NS))


def test_file_upload_minimum_may_not_exceed_maximum():
    upload = "<FileUploadAnswer><MaxFileSizeInBytes>10</MaxFileSizeInBytes><MinFileSizeInBytes>1000</MinFileSizeInBytes></FileUploadAnswer>"
    assert "MinFileSizeInBytes (1000) is larger than MaxFileSizeInBytes (10)" in refusal(question_form(free_text_question("d", upload)))


def test_question_form_needs_at_least_one_question():
    assert "at least one Question" in refusal(question_form("<Overview><Text>Only words</Text></Overview>"))


def test_question_identifiers_must_be_unique():
    message = refusal(question_form(free_text_question("q1") + free_text_question("q1")))
    assert "'q1' is used by more than one Question" in message


def test_question_identifier_must_not_be_empty():
    assert "QuestionIdentifier must not be empty" in refusal(question_form(free_text_question(" ")))


def test_selection_identifiers_must_be_unique_within_a_question():
    message = refusal(question_form(selection_question("s", selection("a") + selection("a"))))
    assert "SelectionIdentifier 'a' is used by more than one Selection" in message


def test_the_same_selection_identifier_may_appear_in_two_questions():
    form = parse_question(question_form(selection_question("s1", selection("a")) + selection_question("s2", selection("a"))))
    assert len(form.questions) == 2  # type: ignore[union-attr]


def test_min_selection_count_may_not_exceed_max():
    counts = "<MinSelectionCount>3</MinSelectionCount><MaxSelectionCount>2</MaxSelectionCount>"
    message = refusal(question_form(selection_question("s", selection("a") + selection("b") + selection("c"), counts)))
    assert "MinSelectionCount (3) is larger than MaxSelectionCount (2)" in message


def test_min_selection_count_may_not_exceed_the_choices_offered():
    counts = "<MinSelectionCount>3</MinSelectionCount><MaxSelectionCount>3</MaxSelectionCount>"
    assert "offers only 2 choices" in refusal(question_form(selection_question("s", selection("a") + selection("b"), counts)))


def test_selection_needs_exactly_one_label():
    bad = "<Selection><SelectionIdentifier>a</SelectionIdentifier></Selection>"
    assert "exactly one of Text, FormattedContent or Binary" in refusal(question_form(selection_question("s", bad)))


def test_length_minimum_may_not_exceed_maximum():
    answer = '<FreeTextAnswer><Constraints><Length minLength="9" maxLength="3"/></Constraints></FreeTextAnswer>'
    assert "minLength (9) is larger than maxLength (3)" in refusal(question_form(free_text_question("q", answer)))


def test_numeric_minimum_may_not_exceed_maximum():
    answer = '<FreeTextAnswer><Constraints><IsNumeric minValue="5" maxValue="1"/></Constraints></FreeTextAnswer>'
    assert "minValue (5) is larger than maxValue (1)" in refusal(question_form(free_text_question("q", answer)))


def test_a_misspelt_constraint_attribute_is_refused_instead_of_ignored():
    answer = '<FreeTextAnswer><Constraints><IsNumeric min="5"/></Constraints></FreeTextAnswer>'
    assert "unknown attribute 'min'" in refusal(question_form(free_text_question("q", answer)))


def test_regex_must_compile():
    answer = '<FreeTextAnswer><Constraints><AnswerFormatRegex regex="([a-z"/></Constraints></FreeTextAnswer>'
    assert "not a valid regular expression" in refusal(question_form(free_text_question("q", answer)))


def test_regex_flag_i_makes_matching_case_insensitive():
    answer = '<FreeTextAnswer><Constraints><AnswerFormatRegex regex="^yes$" flags="i"/></Constraints></FreeTextAnswer>'
    regex = parse_question(question_form(free_text_question("q", answer))).question("q").answer.regexes[0]  # type: ignore[union-attr]
    assert regex.matches("YES") and not regex.matches("no")


def test_regex_without_flags_is_case_sensitive():
    answer = '<FreeTextAnswer><Constraints><AnswerFormatRegex regex="^yes$"/></Constraints></FreeTextAnswer>'
    regex = parse_question(question_form(free_text_question("q", answer))).question("q").answer.regexes[0]  # type: ignore[union-attr]
    assert not regex.matches("YES")


def test_javascript_named_groups_are_understood():
    answer = '<FreeTextAnswer><Constraints><AnswerFormatRegex regex="^(?&lt;year&gt;[0-9]{4})$"/></Constraints></FreeTextAnswer>'
    regex = parse_question(question_form(free_text_question("q", answer))).question("q").answer.regexes[0]  # type: ignore[union-attr]
    assert regex.matches("2024")


def test_unknown_regex_flags_are_refused():
    answer = '<FreeTextAnswer><Constraints><AnswerFormatRegex regex="a" flags="x"/></Constraints></FreeTextAnswer>'
    assert "unknown flag 'x'" in refusal(question_form(free_text_question("q", answer)))


def test_unknown_elements_in_a_question_are_refused_with_the_expected_ones_listed():
    xml = question_form(free_text_question().replace("<IsRequired>", "<Hint>psst</Hint><IsRequired>"))
    message = refusal(xml)
    assert "unknown element <Hint>" in message and "QuestionIdentifier" in message


def test_answer_specification_needs_exactly_one_kind():
    assert "exactly one of FreeTextAnswer" in refusal(question_form(free_text_question("q", "")))


def test_question_content_must_not_be_empty():
    xml = question_form(free_text_question().replace("<Text>Question?</Text>", ""))
    assert "QuestionContent is empty" in refusal(xml)


def test_style_suggestion_must_be_a_known_style():
    counts = "<StyleSuggestion>slider</StyleSuggestion>"
    assert "StyleSuggestion must be one of" in refusal(question_form(selection_question("s", selection("a"), counts)))


def test_is_required_must_be_a_boolean():
    xml = question_form(free_text_question().replace("<IsRequired>false", "<IsRequired>maybe"))
    assert "IsRequired must be true or false" in refusal(xml)


def test_duplicated_single_elements_are_refused():
    xml = question_form(free_text_question().replace("<IsRequired>false</IsRequired>", "<IsRequired>false</IsRequired>" * 2))
    assert "more than one IsRequired" in refusal(xml)


def test_application_content_is_refused_as_obsolete():
    xml = question_form(free_text_question().replace(
        "<Text>Question?</Text>", "<Application><JavaApplet><AppletPath>http://a/</AppletPath></JavaApplet></Application>"
    ))
    assert "obsolete" in refusal(xml)


def test_binary_data_url_must_be_http_or_https():
    binary = (
        "<Binary><MimeType><Type>image</Type></MimeType><DataURL>javascript:alert(1)</DataURL>"
        "<AltText>x</AltText></Binary>"
    )
    xml = question_form(free_text_question().replace("<Text>Question?</Text>", binary))
    assert "http:// or https://" in refusal(xml)


def test_binary_mime_type_must_be_image_audio_or_video():
    binary = (
        "<Binary><MimeType><Type>application</Type></MimeType><DataURL>https://a.example/x.pdf</DataURL>"
        "<AltText>x</AltText></Binary>"
    )
    assert "image, audio, video" in refusal(question_form(free_text_question().replace("<Text>Question?</Text>", binary)))


@pytest.mark.parametrize(
    ("xhtml", "complaint"),
    [
        ("<p>Hi<script>alert(1)</script></p>", "<script>"),
        ('<p onclick="steal()">Hi</p>', "onclick"),
        ('<a href="javascript:alert(1)">x</a>', "href"),
        ('<img src="data:image/png;base64,AAAA"/>', "src"),
        ("<p>unclosed", "well-formed"),
        ("<iframe src='https://a.example'></iframe>", "<iframe>"),
    ],
)
def test_formatted_content_outside_the_xhtml_subset_is_refused(xhtml, complaint):
    content = f"<FormattedContent><![CDATA[{xhtml}]]></FormattedContent>"
    message = refusal(question_form(free_text_question().replace("<Text>Question?</Text>", content)))
    assert complaint in message and "FormattedContent" in message


def test_formatted_content_allows_tables_links_images_and_mailto():
    xhtml = (
        '<table border="1"><tr><td><a href="mailto:help@example.org">Mail</a></td>'
        '<td><img src="https://a.example/i.png" alt="i"/></td></tr></table><ul><li>&eacute;</li></ul>'
    )
    content = f"<FormattedContent><![CDATA[{xhtml}]]></FormattedContent>"
    form = parse_question(question_form(free_text_question().replace("<Text>Question?</Text>", content)))
    assert form.questions[0].content == (FormattedContent(xhtml),)  # type: ignore[union-attr]


def test_formatted_content_written_as_xml_instead_of_cdata_is_refused_with_a_hint():
    content = "<FormattedContent><p>Hi</p></FormattedContent>"
    assert "CDATA" in refusal(question_form(free_text_question().replace("<Text>Question?</Text>", content)))


def test_stray_text_between_elements_is_refused():
    xml = question_form(free_text_question().replace("<IsRequired>", "oops<IsRequired>"))
    assert "'oops' outside any element" in refusal(xml)


# --- qualification tests ----------------------------------------------------------------------------------------


def test_a_test_may_be_a_question_form():
    assert isinstance(parse_test(QUESTION_FORM), QuestionForm)


@pytest.mark.parametrize("document", [EXTERNAL_QUESTION, HTML_QUESTION], ids=["external", "html"])
def test_a_test_may_not_be_an_external_or_html_question(document):
    with pytest.raises(InvalidQuestion) as caught:
        parse_test(document)
    assert "must be a QuestionForm" in str(caught.value)


def test_a_test_names_itself_in_messages():
    with pytest.raises(InvalidQuestion) as caught:
        parse_test("<Nope/>")
    assert str(caught.value).startswith("Test must be an XML document")


def test_namespace_of_form_is_one_of_the_two_versions():
    message = refusal(question_form(free_text_question(), "urn:wrong"))
    assert FORM_NS in message and FORM_2017_NS in message


def test_embedded_binary_keeps_its_size_and_parameters():
    embedded = (
        "<EmbeddedBinary><EmbeddedMimeType><Type>video</Type><SubType>mp4</SubType></EmbeddedMimeType>"
        "<DataURL>https://media.example.org/clip.mp4</DataURL><AltText>A clip</AltText>"
        "<Width>320</Width><Height>240</Height>"
        "<ApplicationParameter><Name>autoplay</Name><Value>false</Value></ApplicationParameter></EmbeddedBinary>"
    )
    form = parse_question(question_form(free_text_question().replace("<Text>Question?</Text>", embedded)))
    assert form.questions[0].content == (  # type: ignore[union-attr]
        EmbeddedBinary("video", "mp4", "https://media.example.org/clip.mp4", "A clip", "320", "240",
                       (("autoplay", "false"),)),
    )


def test_a_list_needs_at_least_one_item():
    xml = question_form(free_text_question().replace("<Text>Question?</Text>", "<List></List>"))
    assert "at least one ListItem" in refusal(xml)
