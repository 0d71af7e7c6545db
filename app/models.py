"""Imports every feature's models so that the metadata (and Alembic) sees the whole schema."""
from app.audit.models import AuditEvent  # noqa: F401
from app.auth.models import OfficerScope, User, UserSession  # noqa: F401
from app.certification.models import Certificate, Certification  # noqa: F401
from app.exams.models import Accommodation, Attempt, AttemptItem, BlueprintRow, Exam, ExamOverride, ExamSitting  # noqa: F401
from app.learning.models import Course, Enrolment, Lesson, LessonProgress  # noqa: F401
from app.org.models import Department, DepartmentClosure  # noqa: F401
from app.questions.models import Question, QuestionVersion  # noqa: F401
from app.rollout.models import DepartmentSnapshot, Exemption, Milestone, PlanWave, RolloutPlan  # noqa: F401
from app.standards.models import Standard, StandardArea, StandardItem  # noqa: F401
from app.notifications.models import Message  # noqa: F401
from app.scheduler.models import JobLock, JobRun  # noqa: F401
