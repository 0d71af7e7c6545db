"""Question bank forms: edit, retire/reactivate, upload and confirm an import. Every form carries CSRF."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from app.questions.models import DIFFICULTIES
from app.questions.types import REGISTRY, TEXT_FORMATS

FORMAT_CHOICES = [("gift", "GIFT"), ("aiken", "Aiken"), ("xml", "Moodle XML")]


def difficulty_label(value: str):
    """Translated name of a difficulty (easy/medium/hard)."""
    return {"easy": _l("easy"), "medium": _l("medium"), "hard": _l("hard")}.get(value, value)


class EditQuestionForm(FlaskForm):
    """The editable fields; the service (app.questions.bank.edit_question) checks the rest per field."""

    name = StringField(_l("Question name"), validators=[DataRequired(), Length(max=255)])
    item = SelectField(_l("Standard item"), choices=[], validate_choice=False)
    difficulty = SelectField(_l("Difficulty"), validate_choice=False,
                             choices=[("", _l("(none)"))] + [(d, difficulty_label(d)) for d in DIFFICULTIES])
    tags = StringField(_l("Tags (comma-separated)"), validators=[Length(max=2000)])
    stem_format = SelectField(_l("Text format"), validate_choice=False,
                              choices=[(f, f) for f in sorted(TEXT_FORMATS)])
    stem = TextAreaField(_l("Question text"), validators=[DataRequired()])
    general_feedback = TextAreaField(_l("General feedback"))
    spec = TextAreaField(_l("Answers and key (JSON)"), validators=[DataRequired()])


class StatusForm(FlaskForm):
    """Retire or reactivate (the button says which); only the CSRF token."""


class UploadForm(FlaskForm):
    """An import file and its format; always checked as a dry run first."""

    file = FileField(_l("File"), validators=[FileRequired()])
    fmt = SelectField(_l("Format"), choices=FORMAT_CHOICES)


class ConfirmImportForm(FlaskForm):
    """Commit a file that passed its dry run: the stored upload's token and format."""

    token = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])
    fmt = HiddenField(validators=[DataRequired(), Regexp(r"^(gift|aiken|xml)$")])
    filename = HiddenField(validators=[Length(max=200)])


#: Translated name of each question type (registry name -> label), from the registry classes.
TYPE_LABELS = {name: qtype.label for name, qtype in REGISTRY.items()}
