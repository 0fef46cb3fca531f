"""The public contact form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional


class ContactForm(FlaskForm):
    class Meta:
        csrf = False  # see channels/__init__.py

    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=40)])
    category = SelectField(_l("Topic"), choices=[])
    language = SelectField(_l("Language"), choices=[])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    message = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=20000)])
    # Honeypot: hidden from people, filled in by bots.
    website = StringField(_l("Leave this field empty"))
    submission_id = HiddenField()
