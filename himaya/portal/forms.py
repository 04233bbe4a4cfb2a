"""The report form in plain steps, and the receipt and message forms."""
from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.portal.document import Answers, What, Who
from himaya.portal.services import MAX_MESSAGE, MAX_STORY

WHAT_CHOICES = [
    (What.SEXTORTION, _("Someone is threatening to share my (or a child's) private pictures or videos, or asks for money or more pictures")),
    (What.GROOMING, _("An adult talks to a child online in a way that feels wrong: asks for pictures, wants to keep secrets or to meet")),
    (What.SHARING, _("Sexual pictures or videos of a child are being shared online")),
    (What.UNWANTED, _("Someone sent sexual pictures or videos to a child")),
    (What.OTHER, _("Something else that worries me")),
]
WHO_CHOICES = [
    (Who.CHILD, _("I am the child this is happening to")),
    (Who.PARENT, _("I am a parent or an adult who looks after the child")),
    (Who.OTHER, _("Someone else")),
]
CONTACT_CHOICES = [
    ("anonymous", _("I want to stay anonymous. I will use my receipt code to read your answer.")),
    ("contact", _("You may contact me")),
]


class ReportForm(forms.Form):
    what = forms.ChoiceField(label=_("What happened?"), choices=WHAT_CHOICES, widget=forms.RadioSelect)
    story = forms.CharField(label=_("Tell us in your own words"), max_length=MAX_STORY, widget=forms.Textarea(attrs={"rows": 6}),
                            help_text=_("What happened, what the person said or asked. Write as much or as little as you want."))
    who = forms.ChoiceField(label=_("Who are you?"), choices=WHO_CHOICES, widget=forms.RadioSelect)
    child_age = forms.IntegerField(label=_("How old is the child? (if you know)"), required=False, min_value=1, max_value=21)
    platform = forms.CharField(label=_("Which app, game or website?"), required=False, max_length=200)
    url = forms.CharField(label=_("The link (address) of the page, if you have it"), required=False, max_length=1000)
    account = forms.CharField(label=_("The name of the account that did it"), required=False, max_length=200)
    when = forms.DateField(label=_("When did it happen? (if you know)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    when_text = forms.CharField(label=_("Or say it in words"), required=False, max_length=200,
                                help_text=_("For example: last week, since the summer"))
    contact_choice = forms.ChoiceField(label=_("Can we contact you?"), choices=CONTACT_CHOICES, widget=forms.RadioSelect, initial="anonymous")
    name = forms.CharField(label=_("Your name"), required=False, max_length=200)
    phone = forms.CharField(label=_("Your phone number"), required=False, max_length=40)
    email = forms.CharField(label=_("Your email"), required=False, max_length=254)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if url and any(ch.isspace() for ch in url):
            raise forms.ValidationError(_("A link has no spaces. Copy it from the address bar, or leave it empty."))
        return url

    def clean_when(self) -> Any:
        when = self.cleaned_data.get("when")
        if when and when > timezone.localdate():
            raise forms.ValidationError(_("This date is in the future."))
        return when

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email:
            EmailValidator(message=_("This email address does not look right."))(email)
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("contact_choice") == "contact" and not (data.get("phone", "").strip() or data.get("email", "").strip()):
            self.add_error("phone", _("Give a phone number or an email so that we can reach you, or choose to stay anonymous."))
        return data

    def answers(self) -> Answers:
        d = self.cleaned_data
        return Answers(what=d["what"], story=d["story"].strip(), who=d["who"], child_age=d.get("child_age"),
                       platform=d["platform"].strip(), url=d["url"], account=d["account"].strip().lstrip("@"),
                       when=d.get("when"), when_text=d["when_text"].strip())

    def contact(self) -> dict[str, str] | None:
        d = self.cleaned_data
        if d["contact_choice"] != "contact":
            return None
        return {k: d[k].strip() for k in ("name", "phone", "email") if d.get(k, "").strip()}


class ReceiptForm(forms.Form):
    receipt = forms.CharField(label=_("Your receipt code"), max_length=64,
                              widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "dir": "ltr"}))


class MessageForm(forms.Form):
    text = forms.CharField(label=_("Your message"), max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 4}))
