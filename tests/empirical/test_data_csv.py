"""The CSV reader of empirical.data.load: the header rule, and every refusal named by its line and column."""

from __future__ import annotations

import re

import pytest

from empirical import data
from empirical.errors import DataError


def load_text(tmp_path, text: str, name: str = "f.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return data.load(path).tolist()


def refusal(tmp_path, text: str) -> str:
    with pytest.raises(DataError) as info:
        load_text(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'f.csv'}: ")
    assert "usecols" not in message and "row" not in message  # no option load lacks; lines, not rows
    return message


@pytest.mark.parametrize(
    "text, where, what",
    [
        ("1,,3\n4,5,6\n7,8,9\n", "line 1, column 2 is empty", "also holds numbers"),
        ("1,2,x\n4,5,6\n7,8,9\n", "line 1, column 3: 'x' is not a number", "also holds numbers"),
        ("x,2,3\n4,5,6\n", "line 1, column 1: 'x' is not a number", "also holds numbers"),
        ("1,2,3,\n4,5,6,\n", "line 1, column 4 is empty", "also holds numbers"),
        ("a,,c\n1,2,3\n", "line 1, column 2 is empty", "a name in every column"),
        ("\n# notes\n1,2,x\n4,5,6\n", "line 3, column 3: 'x' is not a number", "also holds numbers"),
    ],
)
def test_a_defective_first_line_is_refused_not_dropped_as_a_header(tmp_path, text, where, what):
    message = refusal(tmp_path, text)
    assert where in message and what in message
    assert "either a header" in message and "or data" in message


@pytest.mark.parametrize(
    "text, names, width",
    [("a,b\n1,2,3\n4,5,6\n", 2, 3), ("a,b,c,d\n1,2,3\n", 4, 3), ("x\n1,2\n", 1, 2)],
)
def test_a_header_must_name_every_column(tmp_path, text, names, width):
    message = refusal(tmp_path, text)
    assert f"the header (line 1) has {names} name" in message
    assert f"the first data line (line 2) has {width} fields" in message


@pytest.mark.parametrize(
    "text, line",
    [
        ("a,{b},c\n1,2,3\n4,5,6\n", 1),
        ("a,{b},c\r\n1,2,3\r\n4,5,6\r\n", 1),
        ("\ufeffa,{b},c\n1,2,3\n4,5,6\n", 1),
        (" a , {b} ,c\n 1, 2 ,3 \n4,5,6\n", 1),
        ('"a",{b},"c"\n1,2,3\n4,5,6\n', 1),
        ("# made by np.savetxt\n\na,{b},c\n1,2,3\n4,5,6 # a comment\n", 3),
    ],
)
def test_a_first_line_is_a_header_exactly_when_none_of_its_fields_is_a_number(tmp_path, text, line):
    """Names (with CRLF, a BOM, spaces, quotes or comments) are a header; one number among them is not."""
    assert load_text(tmp_path, text.format(b="b")) == [[1, 2, 3], [4, 5, 6]]
    message = refusal(tmp_path, text.format(b="2"))
    assert f"line {line}, column 1:" in message and "also holds numbers" in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1,2,3\n4,5,6\n7,8,9\n10,11,12\n13,x,15\n", "line 5, column 2: 'x' is not a number"),
        ("a,b,c\n1,2,3\n4,5,6\n7,8,9\n13,x,15\n", "line 5, column 2: 'x' is not a number"),
        ("a,b\n\n1,2\n3,\n", "line 4, column 2 is empty"),
        ("1,2,3\n4,5\n7,8,9\n", "line 2 has 2 fields, the first data line (line 1) has 3"),
        ("a,b,c\n1,2,3\n4,5,6,7\n", "line 3 has 4 fields, the first data line (line 2) has 3"),
        ("1,2\r3,4\r5,y\r", "line 3, column 2: 'y' is not a number"),
    ],
)
def test_a_bad_line_is_named_by_its_line_and_1_based_column(tmp_path, text, expected):
    assert expected in refusal(tmp_path, text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1,2\n3,nan\n", "first at line 2, column 2"),
        ("# c\na,b\n\n1,2\ninf,4\n", "first at line 5, column 1"),
        ("a,b,c\n1,2,3\n4,5,1e7\n", "at line 3, column 3"),
    ],
)
def test_values_refused_after_reading_are_named_by_line_and_column_too(tmp_path, text, expected):
    assert expected in refusal(tmp_path, text)


def test_text_that_is_not_utf8_is_named_by_its_line(tmp_path):
    (tmp_path / "f.csv").write_bytes(b"1,2\n3,4\n5,\xe9\n")
    with pytest.raises(DataError, match=re.escape("line 3 is not UTF-8 text")):
        data.load(tmp_path / "f.csv")
