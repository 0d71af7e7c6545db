"""Factories as plain functions. Each flushes; tests commit when they need a request to see the data."""
from __future__ import annotations

import datetime as dt
import itertools
import re

from app.auth.models import User
from app.core.security import hash_password
from app.extensions import db
from app.org.models import Department
from app.org.services import create_department, grant_officer_scope

_counter = itertools.count(1)
_hash_cache: dict[str, str] = {}


def csrf_token(client, path: str) -> str:
    """GET ``path`` and return the CSRF token from its <meta name="csrf-token">."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def make_department(name: str | None = None, parent: Department | None = None, code: str | None = None) -> Department:
    """A department (with closure rows) under ``parent``."""
    n = next(_counter)
    return create_department(code or f"D{n:04d}", name or f"测试部门{n}", parent)


def make_user(department: Department | None = None, *, name: str | None = None, staff_number: str | None = None,
              is_admin: bool = False, is_examiner: bool = False, officer_of: list[Department] | None = None, password: str | None = None,
              active: bool = True) -> User:
    """A staff user whose password is ``tests.conftest.TEST_PASSWORD`` unless given."""
    from tests.conftest import TEST_PASSWORD

    password = password or TEST_PASSWORD
    if password not in _hash_cache:
        _hash_cache[password] = hash_password(password)
    n = next(_counter)
    user = User(staff_number=staff_number or f"T{n:06d}", name=name or f"测试用户{n}", department=department,
                is_admin=is_admin, is_examiner=is_examiner, password_hash=_hash_cache[password], active=active, position="科员")
    db.session.add(user)
    db.session.flush()
    for dept in officer_of or []:
        grant_officer_scope(user, dept)
    return user


def utc(*args) -> dt.datetime:
    """An aware UTC datetime: ``utc(2026, 11, 22, 9, 0)``."""
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


SMALL_GIFT = """$CATEGORY: TEST/X

// [id:X1-001] [tag:item:X1] [tag:difficulty:easy]
::X1-001::[markdown]按哪个组合键可以锁定 Windows 屏幕？{
=Win+L#对。
~Win+D#这是显示桌面。
~Alt+Tab#这是切换窗口。
~Ctrl+S#这是保存。
####Win+L 立即锁屏。
}

// [id:X1-002] [tag:item:X1] [tag:difficulty:easy]
::X1-002::[markdown]离开座位时应锁定屏幕。{T#离开时必须锁屏。#正确。####锁屏可防止他人使用你的账号。}

// [id:X1-003] [tag:item:X1] [tag:difficulty:easy]
::X1-003::[markdown]以下哪些做法有助于保护账号安全？{
~%50%启用多因素认证#对。
~%50%使用长口令#对。
~%-100%把密码贴在显示器上#错。
~%-100%多个系统共用一个密码#错。
####多因素认证和长口令都能提高安全性。
}
"""


def make_exam_world(*, time_limit_minutes: int = 30, attempts_allowed: int = 3, pass_mark: int = 60):
    """A tiny standard (item X1), three questions (one per type), a one-lesson course and its exam.

    Returns ``(course, exam)``. The exam draws all three questions, 100 points in all.
    """
    from app.content.report import SyncReport
    from app.exams.services import sync_course_exam
    from app.learning.services import store_course
    from app.questions.services import import_gift
    from app.standards.models import Standard, StandardArea, StandardItem

    standard = Standard(code="TEST", version="1", title_zh="测试标准", title_en="Test standard")
    area = StandardArea(standard=standard, code="X", title_zh="测试领域", title_en="Test area")
    db.session.add_all([standard, area])
    db.session.flush()
    item = StandardItem(standard_id=standard.id, area_id=area.id, code="X1", title_zh="锁屏与口令",
                        title_en="Screen lock and passwords", level="basic", digcomp=["4.1"])
    db.session.add(item)
    db.session.flush()
    report = SyncReport()
    import_gift(SMALL_GIFT, "tests/small.gift", report)
    course = store_course({
        "slug": "test-course", "title": ("测试课程", "Test course"), "summary": ("摘要", "Summary"),
        "credit_hours": 2, "standard": "TEST", "items": ["X1"], "source": "tests",
        "lessons": [{"key": "01-intro", "title": ("第一课", "Lesson one"), "minutes": 10,
                     "body": "## 学习目标\n\n学会锁屏。"}], "exam": None,
    }, report)
    exam = sync_course_exam(course, {
        "title": ("测试考试", "Test exam"), "time_limit_minutes": time_limit_minutes, "pass_mark": pass_mark,
        "attempts_allowed": attempts_allowed,
        "blueprint": [{"item": "X1", "difficulty": "easy", "count": 2, "points": 30},
                      {"item": "X1", "difficulty": "easy", "count": 1, "points": 40}],
    }, "tests", report)
    db.session.flush()
    return course, exam


def right_response(item) -> dict:
    """The response that earns full marks on an attempt item (from the key; tests only)."""
    spec = item.question_version.spec
    if item.question_version.qtype == "true_false":
        return {"choice": "true" if spec["answer"] else "false"}
    right = [o["id"] for o in spec["options"] if o["fraction"] > 0]
    return {"choices": right} if item.question_version.qtype == "multiple_choice" else {"choice": right[0]}


def wrong_response(item) -> dict:
    """A response that earns nothing."""
    spec = item.question_version.spec
    if item.question_version.qtype == "true_false":
        return {"choice": "false" if spec["answer"] else "true"}
    wrong = [o["id"] for o in spec["options"] if o["fraction"] <= 0]
    if not wrong:
        raise ValueError(f"question version {item.question_version.id} has no wrong option to choose")
    return {"choices": wrong[:1]} if item.question_version.qtype == "multiple_choice" else {"choice": wrong[0]}
