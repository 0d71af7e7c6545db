"""Admin people pages in Chromium at 1366x768 and 390x844, zh and en: list, person, import preview;
no sideways overflow. Screenshots go to $PEOPLE_SHOTS (default /tmp/shots-people/)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.test_learner_pages import _check_tables, _login, _overflow  # noqa: F401
from tests.factories import make_department, make_user
from tests.org.test_people_import import ROWS, xlsx_bytes

SHOTS = Path(os.environ.get("PEOPLE_SHOTS", "/tmp/shots-people"))
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture()
def admin_world(db):
    city = make_department("滨江市人民政府办公室（市政务服务管理办公室）", code="CITY")
    czj = make_department("市财政局", city, code="CITY-CZJ")
    make_department("某处", czj, code="X")
    admin = make_user(city, name="陈志强", staff_number="20260002", is_admin=True)
    make_user(czj, staff_number="000777", name="老用户", officer_of=[czj])
    make_user(city, staff_number="000888", name="另一个")
    for n in range(30):
        make_user(czj, staff_number=f"3026{n:04d}", name=f"职员{n}")
    db.session.commit()
    return admin


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_people_pages_fit(browser, live_server, admin_world, tmp_path, size, lang):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang={'en' if lang == 'en' else 'zh_CN'}")
    _login(page, live_server, admin_world)
    page.goto(f"{live_server}/admin/people/?lang={'en' if lang == 'en' else 'zh_CN'}")
    assert not _overflow(page)
    _check_tables(page, False)  # the table fits; short staff numbers are narrower than the title rule
    for link in page.locator("main table a").all():
        box = link.bounding_box()
        assert box["height"] < 30, f"wrapped link {link.inner_text()!r}: {box}"  # one line, not squeezed
    page.screenshot(path=str(SHOTS / f"people-{lang}-{size}.png"))
    page.click("text=000777")
    page.wait_for_load_state()
    assert not _overflow(page)
    page.screenshot(path=str(SHOTS / f"person-{lang}-{size}.png"), full_page=True)
    upload = tmp_path / "hr.xlsx"
    upload.write_bytes(xlsx_bytes(ROWS))
    page.goto(f"{live_server}/admin/people/import")
    page.set_input_files("input[type=file]", str(upload))
    page.click("main form[enctype] button[type=submit]")
    page.wait_for_load_state()
    assert "000999" in page.content()
    assert not _overflow(page)
    page.screenshot(path=str(SHOTS / f"import-preview-{lang}-{size}.png"), full_page=True)
    context.close()
