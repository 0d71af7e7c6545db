"""`flask demo --size large` shape, built small (the benchmark builds 100,000 staff): exactly 1,000
departments, the pilot plan two years back, staff numbers unique, certificates reaching renewal."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.auth.models import User
from app.certification.models import Certificate
from app.core.time import local_today
from app.demo.services import LARGE_PILOT_START, build_demo
from app.learning.models import LessonProgress
from app.org.models import Department
from app.rollout.models import RolloutPlan


def test_large_size_has_1000_departments_and_two_years_of_history(db):
    build_demo(staff=1500, size="large")
    db.session.commit()
    count = lambda model: db.session.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
    assert count(Department) == 1000
    assert count(User) == 1500
    assert db.session.execute(select(func.max(Department.depth))).scalar_one() == 3
    today = local_today()
    starts = sorted(db.session.execute(select(RolloutPlan.starts_on)).scalars())
    assert starts[0] == today + dt.timedelta(days=LARGE_PILOT_START)          # two years ago
    first = db.session.execute(select(func.min(LessonProgress.started_at))).scalar_one()
    assert (today - first.date()).days >= 700
    # Pilot certificates of the 24-month certification are now inside their renewal window or expired.
    statuses = {c.status for c in db.session.execute(select(Certificate)).scalars()}
    assert {"certified", "due_for_renewal"} <= statuses or {"certified", "expired"} <= statuses
