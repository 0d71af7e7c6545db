"""The exam editor's form (Flask-WTF, CSRF). Fields are plain text and choices: every rule is checked
by :func:`app.exams.editor.validate_exam_spec` / :func:`~app.exams.editor.validate_admission`, whose
per-field messages the view attaches to these fields (``rows-0-count`` → ``form.rows[0].count``)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, PasswordField, RadioField, \
    SelectField, StringField, TextAreaField

from app.exams.models import GRADE_METHODS, NAVIGATIONS, REVIEW_SHOW, REVIEW_WHEN
from app.questions.forms import difficulty_label

GRADE_LABELS = {"highest": _l("Highest grade"), "last": _l("Last attempt"), "first": _l("First attempt"),
                "average": _l("Average grade")}
NAVIGATION_LABELS = {"free": _l("Free (any page, any order)"), "sequential": _l("Sequential (forward only)")}
REVIEW_WHEN_LABELS = {"immediately": _l("Immediately after the attempt"), "after_close": _l("After the exam closes"),
                      "never": _l("Never")}
REVIEW_SHOW_LABELS = {"marks": _l("Marks"), "correctness": _l("Right or wrong"), "response": _l("The candidate's answer"),
                      "correct_answer": _l("The right answer"), "feedback": _l("Feedback")}
REVIEW_WHEN_CHOICES = [(w, REVIEW_WHEN_LABELS[w]) for w in REVIEW_WHEN]
DATETIME_KW = {"type": "datetime-local", "step": "60"}


class RowForm(Form):
    """One blueprint row: standard item × difficulty × count, and points per question."""

    item = SelectField(_l("Standard item"), choices=[], validate_choice=False)
    difficulty = SelectField(_l("Difficulty"), validate_choice=False,
                             choices=[("any", _l("any"))] + [(d, difficulty_label(d)) for d in ("easy", "medium", "hard")])
    count = StringField(_l("Questions"), render_kw={"inputmode": "numeric", "size": "4"})
    points = StringField(_l("Points each"), render_kw={"inputmode": "decimal", "size": "5"})


class SittingForm(Form):
    """One sitting: start, end (local date-times), seats and room or place; ``sitting_id`` of an existing sitting."""

    sitting_id = HiddenField()
    starts_at = StringField(_l("Starts"), render_kw=DATETIME_KW)
    ends_at = StringField(_l("Ends"), render_kw=DATETIME_KW)
    capacity = StringField(_l("Seats"), render_kw={"inputmode": "numeric", "size": "5"})
    place = StringField(_l("Room or place"), render_kw={"maxlength": "200", "size": "16"})


class ExamEditForm(FlaskForm):
    """Create or edit an exam: definition (read-only for exams kept in course.yaml) and admission."""

    code = StringField(_l("Code (in the address, e.g. network-safety-2026)"))
    title_zh = StringField(_l("Title (Chinese)"))
    title_en = StringField(_l("Title (English)"))
    course = SelectField(_l("Course"), choices=[], validate_choice=False)
    time_limit_minutes = StringField(_l("Time limit (minutes)"), render_kw={"inputmode": "numeric"})
    pass_mark = StringField(_l("Pass mark (out of 100)"), render_kw={"inputmode": "decimal"})
    attempts_allowed = StringField(_l("Attempts allowed"), render_kw={"inputmode": "numeric"})
    grade_method = SelectField(_l("Grade kept"), validate_choice=False,
                               choices=[(m, GRADE_LABELS[m]) for m in GRADE_METHODS])
    grace_period_seconds = StringField(_l("Grace period (seconds)"), render_kw={"inputmode": "numeric"})
    opens_at = StringField(_l("Opens"), render_kw=DATETIME_KW)
    closes_at = StringField(_l("Closes"), render_kw=DATETIME_KW)
    shuffle_questions = BooleanField(_l("Shuffle the questions"))
    shuffle_options = BooleanField(_l("Shuffle the options of each question"))
    navigation = SelectField(_l("Navigation"), validate_choice=False,
                             choices=[(n, NAVIGATION_LABELS[n]) for n in NAVIGATIONS])
    questions_per_page = StringField(_l("Questions per page (0 = all on one page)"), render_kw={"inputmode": "numeric"})
    # the review matrix: one radio group per thing shown (REVIEW_SHOW), its when (REVIEW_WHEN)
    review_marks = RadioField(REVIEW_SHOW_LABELS["marks"], validate_choice=False, choices=REVIEW_WHEN_CHOICES)
    review_correctness = RadioField(REVIEW_SHOW_LABELS["correctness"], validate_choice=False,
                                    choices=REVIEW_WHEN_CHOICES)
    review_response = RadioField(REVIEW_SHOW_LABELS["response"], validate_choice=False, choices=REVIEW_WHEN_CHOICES)
    review_correct_answer = RadioField(REVIEW_SHOW_LABELS["correct_answer"], validate_choice=False,
                                       choices=REVIEW_WHEN_CHOICES)
    review_feedback = RadioField(REVIEW_SHOW_LABELS["feedback"], validate_choice=False, choices=REVIEW_WHEN_CHOICES)
    allow_retake_after_pass = BooleanField(_l("A passed exam may be taken again"))
    require_lessons = BooleanField(_l("Every lesson of the course must be done first"))
    rows = FieldList(FormField(RowForm), min_entries=0, max_entries=60)
    allowed_networks = TextAreaField(_l("Allowed networks (one CIDR a line, e.g. 10.20.0.0/16; empty: anywhere)"))
    access_code = PasswordField(_l("New access code (empty: keep the current one)"),
                                render_kw={"autocomplete": "new-password"})
    clear_access_code = BooleanField(_l("Remove the access code"))
    sittings = FieldList(FormField(SittingForm), min_entries=0, max_entries=50)
    list_errors: dict = {}

    def flat_fields(self) -> dict:
        """Every field by its HTML name (``rows-0-count`` for a row's count), so service errors attach."""
        out = {}
        for field in self:
            if isinstance(field, FieldList):
                out[field.name] = field
                for entry in field:
                    for sub in entry.form:
                        out[sub.name] = sub
            else:
                out[field.name] = field
        return out

    def attach(self, errors: dict) -> None:
        """Put each ``name -> [messages]`` on its field (a name without a field goes on the form-level list)."""
        fields = self.flat_fields()
        self.form_errors = list(self.form_errors)
        self.list_errors = {}
        for name, messages in errors.items():
            field = fields.get(name)
            if field is None:
                self.form_errors.extend(messages)
            elif isinstance(field, FieldList):
                self.list_errors.setdefault(name, []).extend(messages)
            else:
                field.errors = list(field.errors) + list(messages)


def review_fields(form: ExamEditForm) -> list:
    """The review matrix's radio fields, one per REVIEW_SHOW name in its order (rows of the editor's table)."""
    return [form[f"review_{what}"] for what in REVIEW_SHOW]
