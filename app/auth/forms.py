"""Login, sign-in code and password forms."""
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.auth.services import MAX_PASSWORD_LENGTH, PasswordPolicyError, check_password_policy


class LoginForm(FlaskForm):
    """Staff number (工号) and password."""

    staff_number = StringField(_l("Staff number"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class CodeLoginForm(FlaskForm):
    """Staff number and the personal sign-in code from the slip (spaces, hyphens and case ignored)."""

    staff_number = StringField(_l("Staff number"), validators=[DataRequired(), Length(max=40)])
    code = StringField(_l("Sign-in code"), validators=[DataRequired(), Length(max=40)])


def _policy(form, field) -> None:
    """The password policy (app.auth.services.check_password_policy) for the signed-in user, with
    its own clear messages instead of a generic length text."""
    if not field.data:
        return
    try:
        check_password_policy(field.data, current_user if current_user.is_authenticated else None)
    except PasswordPolicyError as refused:
        raise ValidationError(" ".join(str(m) for m in refused.messages)) from None


class ChoosePasswordForm(FlaskForm):
    """Choose a password after signing in with a code: the new one twice."""

    new = PasswordField(_l("New password"), validators=[DataRequired(), _policy])
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))])


class PasswordForm(ChoosePasswordForm):
    """Change one's own password: the current one, then the new one twice."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])

    def validate_new(self, field) -> None:
        """The new password may not repeat the current one (an initial password must really change)."""
        if field.data and field.data == self.current.data:
            raise ValidationError(_l("The new password must differ from the current one."))
