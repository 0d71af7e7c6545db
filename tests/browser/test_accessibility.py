"""axe-core (vendored, tests/browser/vendor/) on the learner's and the officer's pages at 1366x768 and
390x844, in both languages: no violation of impact "serious" or "critical" (WCAG 2.1 A and AA rules)."""
from pathlib import Path

import pytest

from tests.browser.test_learner_pages import LANGS, VIEWPORTS, _login, world  # noqa: F401

AXE = (Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
SERIOUS = {"serious", "critical"}


def _axe(page) -> list[str]:
    """Run axe on the page; one line per serious or critical violation, with the first offending nodes."""
    page.add_script_tag(content=AXE)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in result if v["impact"] in SERIOUS]


@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("lang", list(LANGS))
def test_learner_pages_have_no_serious_accessibility_violations(browser, live_server, world, lang, size):  # noqa: F811
    context = browser.new_context(viewport=VIEWPORTS[size], bypass_csp=True)  # to inject axe only
    page = context.new_page()
    page.goto(f"{live_server}/login?lang={LANGS[lang]}")
    problems = {"/login": _axe(page)}
    _login(page, live_server, world["learner"])
    course = world["course"]
    for path in ("/courses/", f"/courses/{course.slug}", f"/courses/{course.slug}/lessons/{course.active_lessons[0].key}",
                 "/certificates/", f"/verify/{world['verification_code']}", f"/exams/{course.slug}"):
        page.goto(f"{live_server}{path}")
        problems[path] = _axe(page)
    context.close()
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("lang", list(LANGS))
def test_officer_pages_have_no_serious_accessibility_violations(browser, live_server, world, lang, size):  # noqa: F811
    context = browser.new_context(viewport=VIEWPORTS[size], bypass_csp=True)  # to inject axe only
    page = context.new_page()
    page.goto(f"{live_server}/login?lang={LANGS[lang]}")
    _login(page, live_server, world["officer"])
    page.goto(f"{live_server}/dashboard/")
    problems = {"/dashboard/": _axe(page)}
    link = page.locator("main table a").first
    if link.count():
        link.click()
        page.wait_for_load_state()
        problems[page.url] = _axe(page)
    context.close()
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


def test_exam_page_has_no_serious_accessibility_violations(browser, live_server, world):  # noqa: F811
    context = browser.new_context(viewport=VIEWPORTS["1366"], bypass_csp=True)
    page = context.new_page()
    _login(page, live_server, world["learner"])
    page.goto(f"{live_server}/exams/{world['course'].slug}")
    page.click("form button.primary")
    page.wait_for_selector("#attempt-form")
    problems = {"attempt": _axe(page)}
    context.close()
    assert not any(problems.values()), problems
