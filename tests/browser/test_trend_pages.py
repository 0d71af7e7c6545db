"""Dashboard with the trend chart, the skills map and a person's skills in a real browser at 1366x768 and
390x844, zh and en: no horizontal overflow (wide tables scroll in their own box), the chart fits."""
import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest

from app.core.time import local_today
from app.rollout.trend import take_snapshot
from tests.browser.test_learner_pages import CHROMIUM, LANGS, VIEWPORTS, _login, _overflow
from tests.rollout.test_skills import skills_world  # noqa: F401  (fixture)

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
SHOTS = Path(tempfile.gettempdir()) / "civicskills-trend-screenshots"


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_trend_and_skills_pages_fit(skills_world, db, live_server, browser, viewport):  # noqa: F811
    w = skills_world
    for back in range(14, 0, -1):
        take_snapshot(local_today() - dt.timedelta(days=back))
    db.session.commit()
    SHOTS.mkdir(exist_ok=True)
    plan = w["plan"].id
    pages = {"dashboard": f"/dashboard/?plan={plan}", "skills": f"/dashboard/skills?plan={plan}",
             "skills-a": f"/dashboard/skills?plan={plan}&department={w['a'].id}",
             "department": f"/dashboard/departments/{w['a'].id}?plan={plan}",
             "person": f"/dashboard/people/{w['people']['p1'].id}?plan={plan}"}
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    _login(page, live_server, w["admin"])
    problems = {}
    for lang, code in LANGS.items():
        for name, url in pages.items():
            page.goto(f"{live_server}{url}&lang={code}")
            assert page.locator("h1").count() == 1
            if name in ("dashboard", "department"):
                box = page.locator("svg.trend-chart").bounding_box()
                assert box and box["width"] <= VIEWPORTS[viewport]["width"]
            page.screenshot(path=str(SHOTS / f"{name}-{lang}-{viewport}.png"), full_page=True)
            if _overflow(page):
                problems[f"{name} {lang}"] = _overflow(page)
    context.close()
    assert problems == {}
