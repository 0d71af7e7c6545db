"""Login form."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.auth.services import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    """Staff number (工号) and password."""

    staff_number = StringField(_l("Staff number"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    """Change one's own password: the current one, then the new one twice (at least 8 characters)."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)])
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))])

    def validate_new(self, field) -> None:
        """The new password may not repeat the current one (an initial password must really change)."""
        if field.data and field.data == self.current.data:
            raise ValidationError(_l("The new password must differ from the current one."))
