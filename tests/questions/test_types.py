"""The question-type registry: validation, rendering without the key, response checks and grading."""
import json

import pytest

from app.questions.types import REGISTRY, ExportError, ResponseError, SpecError, get_type, ordering_ids

SINGLE = {"options": [{"id": "a", "text": "对", "fraction": 1.0}, {"id": "b", "text": "错", "fraction": 0.0}]}
MULTI = {"options": [
    {"id": "a", "text": "红", "fraction": 0.5}, {"id": "b", "text": "绿", "fraction": 0.5},
    {"id": "c", "text": "黑", "fraction": -1.0}, {"id": "d", "text": "白", "fraction": -0.5}]}
SHORT = {"answers": [{"text": "abc1", "fraction": 1.0, "feedback": ""},
                     {"text": "Micro*soft", "fraction": 0.5, "feedback": ""}], "case_sensitive": False}
NUMERIC = {"answers": [{"value": 10.0, "tolerance": 0.5, "fraction": 1.0, "feedback": ""},
                       {"value": 10.0, "tolerance": 2.0, "fraction": 0.5, "feedback": ""},
                       {"value": None, "tolerance": 0.0, "fraction": 0.0, "feedback": "no"}],
           "units": [{"unit": "cm", "multiplier": 1.0}, {"unit": "mm", "multiplier": 10.0}], "unit_required": False}
MATCH = {"pairs": [{"id": "1", "text": "Ctrl+C", "answer": "复制"}, {"id": "2", "text": "Ctrl+V", "answer": "粘贴"},
                   {"id": "3", "text": "Ctrl+X", "answer": "剪切"}], "distractors": ["撤销"]}
TEXTS = ["开机", "登录", "打开文件", "保存"]
ORDER = {"items": [{"id": i, "text": t} for i, t in zip(ordering_ids(TEXTS), TEXTS)]}
ESSAY = {"response_format": "plain", "min_words": 0, "max_words": 0, "grader_info": "看要点", "response_template": ""}

SPECS = {"single_choice": SINGLE, "multiple_choice": MULTI, "true_false": {"answer": True},
         "short_answer": SHORT, "numerical": NUMERIC, "matching": MATCH, "ordering": ORDER, "essay": ESSAY,
         "practical": {"task_id": "doc-table", "kind": "docx", "fingerprint": "0" * 64, "pass_fraction": 0.6}}


def grade(name, spec, response):
    qtype = get_type(name)
    return qtype.grade(spec, qtype.check_response(spec, response))


def test_every_registered_type_validates_its_example_and_renders_a_template(app):
    assert set(REGISTRY) == set(SPECS)
    with app.test_request_context():
        for name, spec in SPECS.items():
            qtype = get_type(name)
            qtype.validate(spec)
            rendered = qtype.render_for_candidate("题干", "markdown", spec, qtype.shuffled_order(spec, 7))
            assert rendered["template"].startswith("questions/types/") and rendered["kind"] == name
            assert isinstance(json.dumps(rendered, ensure_ascii=False), str)


@pytest.mark.parametrize("name", ["single_choice", "multiple_choice", "short_answer", "numerical", "matching",
                                  "ordering", "essay"])
def test_rendering_never_contains_the_key(app, name):
    spec = SPECS[name]
    qtype = get_type(name)
    with app.test_request_context():
        dumped = json.dumps(qtype.render_for_candidate("题干", "plain", spec, qtype.shuffled_order(spec, 3)),
                            ensure_ascii=False)
    for word in ("fraction", "abc1", "看要点", "tolerance", "\"answer\"", "\"distractors\""):
        assert word not in dumped
    if name == "ordering":  # ids are alphabetical ranks: the start order says nothing about the key
        assert ordering_ids(TEXTS) != ["o1", "o2", "o3", "o4"]


def test_multiple_response_partial_credit_is_moodles_clamped_sum():
    assert grade("multiple_choice", MULTI, {"choices": ["a", "b"]}) == 1.0
    assert grade("multiple_choice", MULTI, {"choices": ["a"]}) == 0.5
    assert grade("multiple_choice", MULTI, {"choices": ["a", "b", "d"]}) == 0.5
    assert grade("multiple_choice", MULTI, {"choices": ["a", "c"]}) == 0.0  # clamped, never negative
    assert grade("multiple_choice", MULTI, {"choices": ["a", "b", "c", "d"]}) == 0.0
    assert grade("multiple_choice", MULTI, {"choices": []}) == 0.0


def test_multiple_response_needs_two_to_four_keys():
    five = {"options": [{"id": c, "text": c, "fraction": 0.2} for c in "abcde"]}
    with pytest.raises(SpecError, match="2 to 4 right options"):
        get_type("multiple_choice").validate(five)


def test_short_answer_ignores_case_spaces_and_width():
    assert grade("short_answer", SHORT, {"text": "ＡＢＣ１"}) == 1.0
    assert grade("short_answer", SHORT, {"text": "  AbC1 "}) == 1.0
    assert grade("short_answer", SHORT, {"text": "abc12"}) == 0.0
    assert grade("short_answer", SHORT, {"text": "microSOFT"}) == 0.5  # * matches nothing too
    assert grade("short_answer", SHORT, {"text": "Micro  hard soft"}) == 0.5
    assert grade("short_answer", SHORT, {"text": ""}) == 0.0
    assert get_type("short_answer").grade(SHORT, None) == 0.0


def test_short_answer_escaped_asterisk_is_literal():
    spec = {"answers": [{"text": "a\\*b", "fraction": 1.0}]}
    assert grade("short_answer", spec, {"text": "a*b"}) == 1.0
    assert grade("short_answer", spec, {"text": "axxb"}) == 0.0


def test_numerical_tolerance_bounds_are_inclusive_and_units_convert():
    assert grade("numerical", NUMERIC, {"value": "9.5"}) == 1.0
    assert grade("numerical", NUMERIC, {"value": "10.5 cm"}) == 1.0
    assert grade("numerical", NUMERIC, {"value": "10.51"}) == 0.5
    assert grade("numerical", NUMERIC, {"value": "12"}) == 0.5
    assert grade("numerical", NUMERIC, {"value": "12.01"}) == 0.0  # the catch-all worth 0
    assert grade("numerical", NUMERIC, {"value": "１００ mm"}) == 1.0  # full-width digits, 100 mm = 10 cm
    assert grade("numerical", NUMERIC, {"value": ""}) == 0.0
    spec = {"answers": [{"value": 0.3, "tolerance": 0.0, "fraction": 1.0}]}
    assert get_type("numerical").grade(spec, {"number": 0.1 + 0.2, "unit": ""}) == 1.0


def test_numerical_refuses_text_and_unknown_units():
    with pytest.raises(ResponseError, match="Enter a number"):
        get_type("numerical").check_response(NUMERIC, {"value": "ten"})
    with pytest.raises(ResponseError, match="Unknown unit 'kg'; use one of: cm, mm"):
        get_type("numerical").check_response(NUMERIC, {"value": "3 kg"})


def test_numerical_unit_required():
    spec = dict(NUMERIC, unit_required=True)
    assert grade("numerical", spec, {"value": "10"}) == 0.0
    assert grade("numerical", spec, {"value": "10cm"}) == 1.0


def test_matching_grade_is_share_of_right_pairs():
    assert grade("matching", MATCH, {"matches": {"1": "复制", "2": "粘贴", "3": "剪切"}}) == 1.0
    assert grade("matching", MATCH, {"matches": {"1": "复制", "2": "撤销"}}) == pytest.approx(1 / 3)
    assert grade("matching", MATCH, {"matches": {}}) == 0.0
    with pytest.raises(ResponseError):
        get_type("matching").check_response(MATCH, {"matches": {"1": "不存在"}})


def test_ordering_partial_credit_relative_to_next_item():
    right = [i["id"] for i in ORDER["items"]]
    assert grade("ordering", ORDER, {"order": right}) == 1.0
    assert grade("ordering", ORDER, {"order": list(reversed(right))}) == 0.0
    # 开机 登录 | 打开文件 保存 swapped halves: 开机→登录 and 打开文件→保存 still follow: 2 of 3
    swapped = right[2:] + right[:2]
    assert grade("ordering", ORDER, {"order": swapped}) == pytest.approx(2 / 3)
    with pytest.raises(ResponseError):
        get_type("ordering").check_response(ORDER, {"order": right[:3]})


def test_essay_is_manual_and_needs_grading():
    essay = get_type("essay")
    assert essay.manual is True and get_type("single_choice").manual is False
    assert grade("essay", ESSAY, {"text": "我的回答"}) is None
    assert grade("essay", ESSAY, {"text": "  "}) == 0.0
    with pytest.raises(ResponseError):
        essay.check_response(ESSAY, {"text": "x" * 50_001})


def test_response_echo_redraws_each_answer():
    assert get_type("short_answer").response_echo(SHORT, {"text": "abc"}) == {"text": "abc"}
    assert get_type("multiple_choice").response_echo(MULTI, {"choices": ["a"]}) == {"selected": ["a"]}
    assert get_type("numerical").response_echo(NUMERIC, None) == {"value": ""}


def test_gift_cannot_hold_ordering_or_units():
    with pytest.raises(ExportError):
        get_type("ordering").to_gift("s", "plain", ORDER, "")
    with pytest.raises(ExportError):
        get_type("numerical").to_gift("s", "plain", NUMERIC, "")


def test_response_errors_are_in_the_candidates_language(app):
    with app.test_request_context("/?lang=zh_CN"):
        with pytest.raises(ResponseError) as info:
            get_type("numerical").check_response(NUMERIC, {"value": "十"})
    assert "数" in str(info.value)


def test_practical_is_checked_later_and_refuses_autosaved_responses():
    from app.questions.types import ResponseError

    practical = get_type("practical")
    spec = SPECS["practical"]
    assert practical.deferred and not practical.manual
    assert practical.grade(spec, None) == 0.0                                   # no file: 0 at once
    assert practical.grade(spec, {"upload": {"filename": "a.docx", "size": 9, "sha256": "x"}}) is None
    with pytest.raises(ResponseError):
        practical.check_response(spec, {"upload": {"filename": "a.docx", "size": 9, "sha256": "x"}})
    assert practical.response_echo(spec, None) == {"filename": "", "size": 0}
