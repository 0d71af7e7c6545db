"""Moodle XML: the real fixture, every type written and read back, hostile files refused."""
import dataclasses
import io
import time

import pytest

from app.questions.moodle_xml import HostileXML, dump_moodle_xml, iter_moodle_xml
from app.questions.portable import FormatError, ParsedQuestion
from app.questions.types import REGISTRY, ordering_ids
from tests.conftest import FIXTURES


def read(data: bytes):
    return list(iter_moodle_xml(io.BytesIO(data)))


def test_nested_categories_fixture_as_moodles_test_expects():
    # question/format/xml/tests/xmlformat_test.php test_import_nested_categories_with_questions:
    # categories Iota > Kappa > Lambda and Iota > Mu, one question in each plus the Kappa essay.
    items = read((FIXTURES / "nested_categories_with_questions.xml").read_bytes())
    assert [(q.line, q.name, q.qtype, q.category) for q in items] == [
        (15, "Iota Question", "true_false", "Iota"),
        (55, "Kappa Essay Question", "essay", "Iota/Kappa"),
        (83, "Kappa Question", "true_false", "Iota/Kappa"),
        (123, "Lambda Question", "true_false", "Iota/Kappa/Lambda"),
        (163, "Mu Question", "true_false", "Iota/Mu"),
    ]
    assert items[0].stem == "<p>Testing Iota Question</p>" and items[0].stem_format == "html"
    assert items[0].spec["answer"] is True
    assert items[1].stem_format == "moodle" and items[1].spec["response_format"] == "editor"
    for q in items:
        REGISTRY[q.qtype].validate(q.spec)


TEXTS = ["打开电源", "输入密码", "进入桌面"]


def every_type() -> list[ParsedQuestion]:
    """One question of each type with feedback, weights, tags, ids, categories and awkward text."""
    def q(qtype, spec, **kw):
        base = dict(line=0, name=f"{qtype} <&> 题", qtype=qtype, stem="题干 <b>粗</b> & \"引号\" ]]> {x}",
                    stem_format="html", spec=spec, general_feedback="总体反馈", idnumber=f"X-{qtype}",
                    category="CSDS/C 文档", tags=["item:C3", "difficulty:easy", "自定义"])
        base.update(kw)
        return ParsedQuestion(**base)
    return [
        q("single_choice", {"options": [
            {"id": "a", "text": "甲", "format": "plain", "fraction": 1.0, "feedback": "对"},
            {"id": "b", "text": "乙 <i>", "format": "html", "fraction": 0.0, "feedback": "错"}]}),
        q("multiple_choice", {"options": [
            {"id": "a", "text": "甲", "format": "plain", "fraction": 0.3333333, "feedback": ""},
            {"id": "b", "text": "乙", "format": "plain", "fraction": 0.6666667, "feedback": ""},
            {"id": "c", "text": "丙", "format": "markdown", "fraction": -1.0, "feedback": "不对"}]}, category=""),
        q("true_false", {"answer": False, "feedback_right": "对了", "feedback_wrong": "错了"}, idnumber=None),
        q("short_answer", {"answers": [{"text": "Excel*", "fraction": 1.0, "feedback": "好"},
                                       {"text": "WPS", "fraction": 0.5, "feedback": ""}], "case_sensitive": True}),
        q("numerical", {"answers": [{"value": 2.5, "tolerance": 0.05, "fraction": 1.0, "feedback": ""},
                                    {"value": None, "tolerance": 0.0, "fraction": 0.0, "feedback": "再想想"}],
                        "units": [{"unit": "cm", "multiplier": 1.0}, {"unit": "mm", "multiplier": 10.0}],
                        "unit_required": True}),
        q("matching", {"pairs": [{"id": "1", "text": "Ctrl+C", "format": "plain", "answer": "复制"},
                                 {"id": "2", "text": "Ctrl+V", "format": "plain", "answer": "粘贴"}],
                       "distractors": ["撤销"]}, category="A/B/C"),
        q("ordering", {"items": [{"id": i, "text": t, "format": "plain"} for i, t in zip(ordering_ids(TEXTS), TEXTS)]}),
        q("essay", {"response_format": "plain", "min_words": 50, "max_words": 300, "grader_info": "要点：三点",
                    "response_template": "一、"}, stem_format="markdown"),
    ]


def test_every_type_round_trips():
    questions = every_type()
    for question in questions:
        REGISTRY[question.qtype].validate(question.spec)
    xml = dump_moodle_xml(questions)
    again = read(xml.encode("utf-8"))
    assert all(isinstance(q, ParsedQuestion) for q in again), again
    assert [dataclasses.replace(q, line=0) for q in again] == questions
    # and a second time, byte for byte
    assert dump_moodle_xml(again) == xml


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<quiz><question type="truefalse"><name><text>&lol9;</text></name></question></quiz>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<quiz><question type="essay"><name><text>&xxe;</text></name></question></quiz>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE quiz SYSTEM "http://127.0.0.1:9/evil.dtd">
<quiz></quiz>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"])
def test_hostile_xml_is_refused_quickly(data):
    started = time.perf_counter()
    with pytest.raises(HostileXML, match="DTD, entities or external references"):
        read(data)
    assert time.perf_counter() - started < 1.0


def test_malformed_xml_names_the_line():
    items = read(b'<?xml version="1.0"?>\n<quiz>\n<question type="essay">\n<name>\n</question>\n</quiz>\n')
    assert len(items) == 1 and isinstance(items[0], FormatError)
    assert items[0].line == 5 and "not well-formed" in items[0].message


def test_unsupported_type_and_bad_fraction_name_line_and_field():
    data = ('<quiz>\n<question type="calculated"><name><text>算</text></name></question>\n'
            '<question type="multichoice"><name><text>选</text></name><questiontext><text>题</text></questiontext>\n'
            '<answer fraction="abc"><text>甲</text></answer></question>\n</quiz>').encode()
    first, second = read(data)
    assert (first.line, first.field, first.question) == (2, "type", "算")
    assert (second.line, second.field) == (4, "answer[1].fraction")


def test_not_a_moodle_quiz():
    [error] = read(b"<html><body/></html>")
    assert "expected <quiz>" in error.message
