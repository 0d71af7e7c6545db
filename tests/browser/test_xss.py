"""An XSS corpus through the user-controlled text the app shows: department names (from a CSV import),
staff names, plan names, course and lesson titles, lesson Markdown, certification titles, question stems
and options in HTML format, and values reflected from the query string. Each page is rendered in
Chromium with the Content-Security-Policy bypassed, so the test checks the escaping and sanitising
themselves (the CSP is a second wall): no dialog may open and no injected script, handler or
javascript: link may reach the DOM."""
import csv
import itertools
import datetime as dt
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app.certification.models import Certificate, Certification
from app.certification.services import new_verification_code
from app.core.markup import render_markdown
from app.core.time import local_today, utcnow
from app.learning.services import enrol
from app.org.imports import import_departments
from app.org.models import Department
from app.questions.models import QuestionVersion
from app.rollout.models import Milestone, RolloutPlan
from tests.browser.test_learner_pages import _login  # noqa: F401
from tests.factories import make_exam_world, make_user

# 32 payloads: tags, attributes, URLs, encodings and template syntax (after the OWASP XSS filter evasion cheat sheet).
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    "<svg><script>alert(4)</script></svg>",
    "\"><script>alert(5)</script>",
    "'><img src=x onerror=alert(6)>",
    "<body onload=alert(7)>",
    "<iframe src=\"javascript:alert(8)\"></iframe>",
    "<a href=\"javascript:alert(9)\">点我</a>",
    "<details open ontoggle=alert(10)>",
    "<input autofocus onfocus=alert(11)>",
    "<video><source onerror=alert(12)></video>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(13)>",
    "<IMG SRC=JaVaScRiPt:alert(14)>",
    "<img src=`x` onerror=alert(15)>",
    "<scr<script>ipt>alert(16)</scr</script>ipt>",
    "<object data=\"javascript:alert(17)\">",
    "<embed src=\"javascript:alert(18)\">",
    "<form><button formaction=javascript:alert(19)>x</button></form>",
    "<marquee onstart=alert(20)>",
    "<div style=\"background:url(javascript:alert(21))\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(22)\">",
    "<base href=\"javascript:alert(23)//\">",
    "{{ 7*7 }}<img src=x onerror=alert(24)>",
    "[点我](javascript:alert(25))",
    "![x](x\" onerror=\"alert(26))",
    "<a href=\"&#106;avascript:alert(27)\">x</a>",
    "<svg><a xlink:href=\"javascript:alert(28)\"><text>x</text></a></svg>",
    "</textarea><script>alert(29)</script>",
    "</title><script>alert(30)</script>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(31)>\">",
    "javascript:alert(32)//\u2028<img src=x onerror=alert(32)>",
]

DOM_CHECK = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) bad.push(el.tagName + ' ' + a.name);
      if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href'].includes(a.name)
          && a.value.trim().toLowerCase().replace(/[\\s\\x00-\\x1f]/g, '').startsWith('javascript:')) bad.push(el.tagName + ' ' + a.name);
    }
    if (['IFRAME', 'OBJECT', 'EMBED', 'BASE'].includes(el.tagName)) bad.push(el.tagName);
    if (el.tagName === 'META' && el.getAttribute('http-equiv')) bad.push('META refresh');
    if (el.tagName === 'SCRIPT' && !el.src) bad.push('inline SCRIPT');
  }
  return bad;
}"""


def _world(db, round_payloads):
    """Put one payload in each user-controlled field; return the users, ids and paths to look at."""
    p = itertools.cycle(round_payloads)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "departments.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["code", "name", "parent_code"])
            writer.writerow(["XC", "滨江市" + next(p), ""])
            writer.writerow(["XC-A", "市财政局" + next(p), "XC"])
        import_departments(path)
    city = db.session.execute(select(Department).where(Department.code == "XC")).scalar_one()
    bureau = db.session.execute(select(Department).where(Department.code == "XC-A")).scalar_one()
    learner = make_user(bureau, name="王" + next(p), staff_number="30260001")
    officer = make_user(city, name="陈志强", staff_number="30260002", officer_of=[city])
    course, exam = make_exam_world()
    course.title_zh, course.title_en = "测试课程" + next(p), "Test course" + next(p)
    lesson = course.active_lessons[0]
    lesson.title_zh = "第一课" + next(p)
    lesson.body_md = "## 学习目标\n\n" + next(p) + "\n\n" + next(p)
    lesson.body_html = render_markdown(lesson.body_md)
    for version in db.session.execute(select(QuestionVersion)).scalars():
        version.stem, version.stem_format = "请选择：" + next(p), "html"
    enrol(learner, course, source="plan", due_on=local_today() + dt.timedelta(days=9))
    certification = Certification(code="X-CERT", title_zh="证书" + next(p), title_en="Certificate" + next(p),
                                  courses=[course])
    db.session.add(certification)
    db.session.flush()
    certificate = Certificate(certification_id=certification.id, user_id=learner.id, serial="X-CERT-2026-000001",
                              verification_code=new_verification_code(), issued_at=utcnow(),
                              expires_at=utcnow() + dt.timedelta(days=700))
    plan = RolloutPlan(key="x-plan", name_zh="计划" + next(p), name_en="Plan" + next(p), certification_id=certification.id,
                       starts_on=local_today() - dt.timedelta(days=30), ends_on=local_today() + dt.timedelta(days=60),
                       active=True)
    plan.audience.append(city)
    plan.milestones = [Milestone(due_on=local_today() + dt.timedelta(days=60), target_percent=100)]
    db.session.add_all([certificate, plan])
    db.session.commit()
    reflected = [quote(next(p)), quote(next(p)), quote(next(p))]
    learner_paths = ["/courses/", f"/courses/{course.slug}", f"/courses/{course.slug}/lessons/{lesson.key}",
                     "/certificates/", f"/verify/{certificate.verification_code}", f"/exams/{exam.code}",
                     f"/verify?code={reflected[0]}", f"/dashboard/?as_of={reflected[1]}"]
    officer_paths = ["/dashboard/", f"/dashboard/?plan={plan.id}", f"/dashboard/departments/{city.id}?plan={plan.id}",
                     f"/dashboard/departments/{bureau.id}?plan={plan.id}&page={reflected[2]}",
                     f"/dashboard/people/{learner.id}?plan={plan.id}"]
    return learner, officer, exam, learner_paths, officer_paths




@pytest.mark.parametrize("start", range(0, len(PAYLOADS), 8))
def test_no_payload_runs_or_reaches_the_dom(browser, live_server, db, content, start):  # noqa: F811
    round_payloads = [PAYLOADS[(start + i) % len(PAYLOADS)] for i in range(8)]
    learner, officer, exam, learner_paths, officer_paths = _world(db, round_payloads)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    problems = {}

    def look(path):
        page.goto(live_server + path)
        page.wait_for_load_state()
        found = page.evaluate(DOM_CHECK)
        if found or dialogs:
            problems[path] = (found, list(dialogs))
            dialogs.clear()

    _login(page, live_server, learner)
    for path in learner_paths:
        look(path)
    page.goto(f"{live_server}/exams/{exam.code}")
    page.click("form button.primary")
    page.wait_for_selector("#attempt-form")
    look(page.url.removeprefix(live_server))
    page.goto(f"{live_server}/logout")
    context.clear_cookies()
    _login(page, live_server, officer)
    for path in officer_paths:
        look(path)
    context.close()
    assert not problems, problems
