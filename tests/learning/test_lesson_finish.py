"""A lesson's "finished" button is honest: the server refuses a completion sooner than the lesson was
opened + LESSON_MIN_SECONDS; the page carries the end marker and script that enable the button; the
English page says the lesson text is Chinese only."""
import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.time import utcnow
from app.learning.models import LessonProgress
from app.learning.services import complete_lesson, open_lesson
from tests.factories import csrf_token, make_department, make_exam_world, make_user


@pytest.fixture()
def minimum(app, monkeypatch):
    monkeypatch.setitem(app.config, "LESSON_MIN_SECONDS", 60)
    return 60


def _done(db, user, lesson):
    db.session.expire_all()
    progress = db.session.execute(select(LessonProgress).where(
        LessonProgress.user_id == user.id, LessonProgress.lesson_id == lesson.id)).scalar_one_or_none()
    return progress is not None and progress.completed_at is not None


def test_completing_at_once_is_refused_with_a_clear_message(db, client, login_as, minimum):
    course, _exam = make_exam_world()
    user = make_user(make_department())
    db.session.commit()
    lesson = course.active_lessons[0]
    login_as(user)
    url = f"/courses/{course.slug}/lessons/{lesson.key}"
    token = csrf_token(client, url + "?lang=en")  # opens the lesson now
    response = client.post(url + "/complete", data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "at least 60 seconds" in page and "Lesson marked as done." not in page
    assert not _done(db, user, lesson)

    with time_machine.travel(utcnow() + dt.timedelta(seconds=61)):
        response = client.post(url + "/complete", data={"csrf_token": token}, follow_redirects=True)
    assert "Lesson marked as done." in response.get_data(as_text=True)
    assert _done(db, user, lesson)


def test_service_refuses_early_completion(db):
    course, _exam = make_exam_world()
    user = make_user(make_department())
    lesson = course.active_lessons[0]
    progress = open_lesson(user, lesson)
    with pytest.raises(DomainError) as error:
        complete_lesson(user, lesson, min_seconds=60, now=progress.started_at + dt.timedelta(seconds=59))
    assert error.value.code == "too_soon"
    assert progress.completed_at is None
    complete_lesson(user, lesson, min_seconds=60, now=progress.started_at + dt.timedelta(seconds=60))
    assert progress.completed_at is not None


def test_lesson_page_has_end_marker_script_and_chinese_only_note(db, client, login_as, minimum):
    course, _exam = make_exam_world()
    user = make_user(make_department())
    db.session.commit()
    login_as(user)
    lesson = course.active_lessons[0]
    page = client.get(f"/courses/{course.slug}/lessons/{lesson.key}?lang=en").get_data(as_text=True)
    assert 'id="lesson-end"' in page and re.search(r'<script src="/static/lesson\.js', page)
    assert 'data-wait="60"' in page
    assert "This lesson is written in Chinese only." in page
    zh = client.get(f"/courses/{course.slug}/lessons/{lesson.key}?lang=zh_CN").get_data(as_text=True)
    assert "Chinese only" not in zh and "仅有中文" not in zh
    assert "<script>" not in page  # CSP: script-src 'self', no inline script
