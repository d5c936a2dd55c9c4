"""The batch file reader: encodings, CSV quoting, the header rule, and every refusal with its line number."""

import pytest

from kempelen.requester_site.batch_csv import (
    BatchFileInvalid,
    check_batch_file,
    open_batch_file,
)

VARIABLES = ["image_url", "text"]


def _problems(content: bytes, variables=VARIABLES, **kwargs) -> list[tuple[int | None, str]]:
    with pytest.raises(BatchFileInvalid) as caught:
        check_batch_file(content, variables, **kwargs)
    return [(p.line, p.message) for p in caught.value.problems]


def _rows(content: bytes, variables=VARIABLES) -> list[tuple[int, int, list[str]]]:
    return [(row.index, row.line, row.values) for row in open_batch_file(content, variables).rows()]


def test_a_plain_file_gives_one_row_per_record_in_file_order():
    content = b"image_url,text\nhttps://x/1.jpg,first\nhttps://x/2.jpg,second\n"
    assert check_batch_file(content, VARIABLES) == (["image_url", "text"], 2)
    assert _rows(content) == [(0, 2, ["https://x/1.jpg", "first"]), (1, 3, ["https://x/2.jpg", "second"])]


def test_columns_may_come_in_any_order_and_keep_the_file_order():
    content = b"text,image_url\nhello,https://x/1.jpg\n"
    columns, rows = check_batch_file(content, VARIABLES)
    assert columns == ["text", "image_url"] and rows == 1


def test_utf8_with_emoji_and_a_byte_order_mark_is_read_exactly():
    content = "\ufeffimage_url,text\r\nhttps://x/☃.jpg,Snow 😀 — “quoted” 漢字\r\n".encode()
    assert _rows(content) == [(0, 2, ["https://x/☃.jpg", "Snow 😀 — “quoted” 漢字"])]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_kind_of_line_ending_is_accepted(newline):
    content = newline.join([b"image_url,text", b"a,b", b"c,d"]) + newline
    assert _rows(content) == [(0, 2, ["a", "b"]), (1, 3, ["c", "d"])]


def test_quoted_fields_hold_commas_quotes_and_line_breaks_and_lines_are_counted_physically():
    content = b'image_url,text\n"a,b","say ""hi""\nsecond line\r\nthird line"\nc,d\n'
    assert _rows(content) == [(0, 2, ["a,b", 'say "hi"\nsecond line\r\nthird line']), (1, 5, ["c", "d"])]


def test_blank_lines_are_skipped_and_an_empty_value_is_kept():
    content = b'\nimage_url,text\n\nx,\n"",y\n\n\n'
    assert _rows(content) == [(0, 4, ["x", ""]), (1, 5, ["", "y"])]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\r\n\n"])
def test_an_empty_file_is_refused(content):
    [(line, message)] = _problems(content)
    assert line is None and "The file is empty" in message


def test_a_header_without_rows_is_refused():
    [(line, message)] = _problems(b"image_url,text\n\n")
    assert line is None and "header (line 1) but no rows" in message


def test_a_missing_column_names_the_variable_and_the_header_line():
    [(line, message)] = _problems(b"\nimage_url\nx\n")
    assert line == 2 and "no column for 'text'" in message and "${text}" in message


def test_an_extra_column_is_refused_by_name():
    [(line, message)] = _problems(b"image_url,text,notes\nx,y,z\n")
    assert line == 1 and "'notes' is not a variable" in message


def test_a_duplicate_column_is_refused_with_both_positions():
    [(line, message)] = _problems(b"image_url,text,text\nx,y,z\n")
    assert line == 1 and "'text' appears twice" in message and "columns 2 and 3" in message


def test_an_empty_column_name_is_refused_with_its_position():
    messages = [m for _, m in _problems(b"image_url,,text\nx,y,z\n")]
    assert any("column 2 of the header has no name" in m for m in messages)


def test_spaces_around_a_column_name_are_pointed_out():
    [(line, message)] = _problems(b"image_url, text\nx,y\n")
    assert line == 1 and "' text' has spaces around its name" in message


def test_a_semicolon_separated_file_is_recognised():
    [(line, message)] = _problems(b"image_url;text\nx;y\n")
    assert line == 1 and "separated by semicolons" in message


def test_a_row_with_the_wrong_number_of_fields_is_refused_with_its_line():
    problems = _problems(b"image_url,text\na,b\nc\nd,e,f\ng,h\n")
    assert [line for line, _ in problems] == [3, 4]
    assert "has 1 field, but the header has 2 columns" in problems[0][1]
    assert "has 3 fields" in problems[1][1]


def test_an_unterminated_quote_is_refused_at_the_line_where_it_starts():
    [(line, message)] = _problems(b'image_url,text\na,b\nc,"never closed\nd,e\nf,g\n')
    assert line == 3 and "never closed" in message


def test_text_after_a_closing_quote_is_refused_with_its_line():
    [(line, message)] = _problems(b'image_url,text\na,b\nc,"quoted"tail\n')
    assert line == 3 and "end right after its closing quote" in message


def test_invalid_utf8_is_refused_with_the_line_and_position_of_the_bad_byte():
    content = b"image_url,text\nx,fine\r\ny,caf" + b"\xe9\n"
    [(line, message)] = _problems(content)
    assert line == 3 and "not valid UTF-8" in message and "0xE9" in message and "position 6" in message


def test_a_utf16_file_is_recognised():
    [(line, message)] = _problems("image_url,text\nx,y\n".encode("utf-16"))
    assert line is None and "UTF-16" in message


def test_row_checks_report_each_bad_row_with_its_line_and_stop_after_twenty():
    rows = "".join(f"{i},{'bad' if i % 2 else 'ok'}\n" for i in range(60))
    with pytest.raises(BatchFileInvalid) as caught:
        check_batch_file(("image_url,text\n" + rows).encode(), VARIABLES,
                         check_row=lambda values: "bad value" if values[1] == "bad" else None)
    assert [p.line for p in caught.value.problems] == list(range(3, 43, 2))
    assert caught.value.more == 10
    assert "Line 3: bad value" in str(caught.value) and "(and 29 more problems)" in str(caught.value)


def test_too_many_rows_is_refused():
    [(line, message), *_] = _problems(b"image_url,text\na,b\nc,d\ne,f\n", max_rows=2)
    assert line is None and "3 rows" in message and "at most 2" in message


def test_a_template_without_variables_cannot_take_a_file():
    [(line, message)] = _problems(b"image_url,text\na,b\n", variables=[])
    assert line == 1
    assert "no ${…} variables" in message


def test_rows_stop_at_the_first_malformed_record():
    batch_file = open_batch_file(b"image_url,text\na,b\nc\n", VARIABLES)
    rows = batch_file.rows()
    assert next(rows).values == ["a", "b"]
    with pytest.raises(BatchFileInvalid) as caught:
        next(rows)
    assert caught.value.problems[0].line == 3
