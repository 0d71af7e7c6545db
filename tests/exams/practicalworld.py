"""A mixed exam for practical-task tests: one practical task (the shipped doc-gongwen-format task,
copied to a temporary tasks folder) worth 70 points and two single-choice questions worth 15 each,
in a course with one lesson and a certification."""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from app.certification.models import Certification
from app.content.report import SyncReport
from app.exams.practical import sync_tasks
from app.exams.services import sync_course_exam
from app.extensions import db
from app.learning.services import store_course
from app.questions.services import import_gift
from app.standards.models import Standard, StandardArea, StandardItem

ROOT = Path(__file__).resolve().parents[2]
TASK_ID = "doc-gongwen-format"
TASK_DIR = ROOT / "question_bank" / "tasks" / TASK_ID

GIFT = """
// [id:PX-001] [tag:item:C1] [tag:difficulty:easy]
::PX-001::公文标题一般用几号字？{=2号 ~5号 ~小四 ~8号 ####GB/T 9704 规定标题用 2 号小标宋体。}

// [id:PX-002] [tag:item:C1] [tag:difficulty:easy]
::PX-002::公文正文一般用什么字体？{=仿宋_GB2312 ~宋体加粗 ~楷体斜体 ~黑体 ####正文用 3 号仿宋体。}
"""


def copy_task(tasks_dir: Path) -> Path:
    """Copy the shipped task folder into ``tasks_dir`` (a temporary folder); returns the copy."""
    tasks_dir.mkdir(parents=True, exist_ok=True)
    target = tasks_dir / TASK_ID
    shutil.copytree(TASK_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def make_practical_world(tasks_dir: Path, *, time_limit_minutes: int = 60, pass_mark: int = 60):
    """``(course, exam)``: the exam draws the task (70 points, ``type: practical``) and both choice
    questions (15 each). ``tasks_dir`` must hold the task (see :func:`copy_task`); content sync keeps its
    files with the question version, so the folder is not read after this."""
    standard = Standard(code="PX", version="1", title_zh="实操标准", title_en="Practical standard")
    area = StandardArea(standard=standard, code="C", title_zh="文档", title_en="Documents")
    db.session.add_all([standard, area])
    db.session.flush()
    db.session.add(StandardItem(standard_id=standard.id, area_id=area.id, code="C1", title_zh="公文格式",
                                title_en="Official-document layout", level="basic", digcomp=["3.1"]))
    db.session.flush()
    report = SyncReport()
    import_gift(GIFT, "tests/practical.gift", report)
    sync_tasks(tasks_dir, report)
    course = store_course({
        "slug": "px-course", "title": ("实操课程", "Practical course"), "summary": ("摘要", "Summary"),
        "credit_hours": 2, "standard": "PX", "items": ["C1"], "source": "tests",
        "lessons": [{"key": "01-intro", "title": ("第一课", "Lesson one"), "minutes": 10,
                     "body": "## 学习目标\n\n排版。"}], "exam": None,
    }, report)
    exam = sync_course_exam(course, {
        "title": ("实操考试", "Practical exam"), "time_limit_minutes": time_limit_minutes, "pass_mark": pass_mark,
        "attempts_allowed": 3, "review": {"when": "immediately", "show": ["marks", "correctness", "response"]},
        "blueprint": [{"item": "C1", "type": "practical", "count": 1, "points": 70},
                      {"item": "C1", "difficulty": "easy", "count": 2, "points": 15}],
    }, "tests", report)
    db.session.add(Certification(code="PX-CERT", title_zh="实操证书", title_en="Practical certificate",
                                 courses=[course]))
    db.session.flush()
    return course, exam


def reference_bytes() -> bytes:
    """The task's reference solution (full marks)."""
    return (TASK_DIR / "reference.docx").read_bytes()


def half_right_bytes() -> bytes:
    """A shipped sample that earns part of the points (below the pass share)."""
    return (TASK_DIR / "half_right.docx").read_bytes()


def macro_docx() -> bytes:
    """The reference solution with a VBA project added: must be refused on upload."""
    source = zipfile.ZipFile(io.BytesIO(reference_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr("word/vbaProject.bin", b"\x00" * 64)
    return out.getvalue()
