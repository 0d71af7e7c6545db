"""An exam with one question of each non-choice type (short answer, numerical, matching, ordering,
essay), one standard item per type so the blueprint draws exactly one of each, 20 points each."""
from __future__ import annotations

from app.content.report import SyncReport
from app.exams.services import sync_course_exam
from app.extensions import db
from app.learning.services import store_course
from app.questions.services import PreparedQuestion, store_questions
from app.questions.types import ordering_ids
from app.standards.models import Standard, StandardArea, StandardItem

ORDER_TEXTS = ["发现可疑邮件", "不点击链接", "报告信息中心", "删除邮件"]

SPECS = {
    "T1": ("short_answer", "中国的首都是哪座城市？（用拼音）",
           {"answers": [{"text": "beijing", "fraction": 1.0, "feedback": ""}], "case_sensitive": False}),
    "T2": ("numerical", "口令至少多少个字符？",
           {"answers": [{"value": 12.0, "tolerance": 0.5, "fraction": 1.0, "feedback": ""}],
            "units": [{"unit": "个", "multiplier": 1.0}], "unit_required": False}),
    "T3": ("matching", "把每个术语与它的意思配对。",
           {"pairs": [{"id": "1", "text": "钓鱼", "format": "plain", "answer": "骗取信息的邮件"},
                      {"id": "2", "text": "锁屏", "format": "plain", "answer": "离开时锁定电脑"}],
            "distractors": ["备份数据"]}),
    "T4": ("ordering", "把处理可疑邮件的步骤排好顺序。",
           {"items": [{"id": i, "text": t, "format": "plain"} for i, t in zip(ordering_ids(ORDER_TEXTS), ORDER_TEXTS)]}),
    "T5": ("essay", "简述离开座位时应做什么。",
           {"response_format": "plain", "min_words": 0, "max_words": 0, "grader_info": "提到锁屏得满分。",
            "response_template": ""}),
}


def make_types_world(pass_mark: int = 60, essays: int = 1):
    """Returns ``(course, exam)``; the course has one lesson and the exam draws T1..T5 (20 points each;
    with ``essays=2`` two essays of 10 points are drawn from T5)."""
    standard = Standard(code="TYPES", version="1", title_zh="题型标准", title_en="Types standard")
    area = StandardArea(standard=standard, code="Y", title_zh="题型", title_en="Types")
    db.session.add_all([standard, area])
    db.session.flush()
    for code in SPECS:
        db.session.add(StandardItem(standard_id=standard.id, area_id=area.id, code=code, title_zh=f"题型 {code}",
                                    title_en=f"Type {code}", level="basic", digcomp=["4.1"]))
    db.session.flush()
    report = SyncReport()
    store_questions([PreparedQuestion(line=0, key=f"{code}-001", name=code, category="TYPES", qtype=qtype,
                                      item_code=code, difficulty="medium", tags=[], stem=stem,
                                      stem_format="plain", spec=spec, general_feedback="")
                     for code, (qtype, stem, spec) in SPECS.items()]
                    + [PreparedQuestion(line=0, key=f"T5-00{n}", name="T5", category="TYPES", qtype="essay",
                                        item_code="T5", difficulty="medium", tags=[], stem=f"第 {n} 篇论述。",
                                        stem_format="plain", spec=SPECS["T5"][2], general_feedback="")
                       for n in range(2, essays + 1)], "tests/types", report)
    course = store_course({
        "slug": "types-course", "title": ("题型课程", "Types course"), "summary": ("摘要", "Summary"),
        "credit_hours": 1, "standard": "TYPES", "items": list(SPECS), "source": "tests",
        "lessons": [{"key": "01-intro", "title": ("第一课", "Lesson one"), "minutes": 5, "body": "内容"}],
        "exam": None}, report)
    exam = sync_course_exam(course, {
        "title": ("题型考试", "Types exam"), "time_limit_minutes": 30, "pass_mark": pass_mark,
        "attempts_allowed": 3,
        "blueprint": [{"item": code, "count": 1, "points": 20} for code in SPECS if code != "T5"]
        + [{"item": "T5", "count": essays, "points": 20 / essays}]}, "tests", report)
    db.session.flush()
    return course, exam


RIGHT = {
    "short_answer": {"text": "ＢＥＩＪＩＮＧ"},
    "numerical": {"value": "12.5 个"},
    "matching": {"matches": {"1": "骗取信息的邮件", "2": "离开时锁定电脑"}},
    "ordering": {"order": ordering_ids(ORDER_TEXTS)},
    "essay": {"text": "离开时按 Win+L 锁屏。"},
}
