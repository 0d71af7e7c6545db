"""Administration overview: organisation size, content and plans at a glance."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from app.auth.models import OfficerScope, User
from app.certification.models import Certificate
from app.core.permissions import admin_required
from app.exams.models import Attempt
from app.extensions import db
from app.learning.models import Course
from app.org.models import Department
from app.questions.models import Question
from app.rollout.models import RolloutPlan

bp = Blueprint("org", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def overview():
    """Counts of departments, staff, officers, courses, questions, attempts, certificates, plans."""
    def count(model, *where):
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    figures = {
        "departments": count(Department), "staff": count(User, User.active.is_(True)),
        "officers": db.session.execute(select(func.count(func.distinct(OfficerScope.user_id)))).scalar_one(),
        "courses": count(Course, Course.active.is_(True)), "questions": count(Question, Question.active.is_(True)),
        "attempts": count(Attempt), "certificates": count(Certificate), "plans": count(RolloutPlan),
    }
    courses = list(db.session.execute(select(Course).order_by(Course.slug)).scalars())
    return render_template("org/overview.html", figures=figures, courses=courses)


from app.org import people_views  # noqa: E402,F401  (registers the people routes on bp)
from app.org import department_views  # noqa: E402,F401  (registers the department routes on bp)
