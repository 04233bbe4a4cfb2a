"""The report form in plain steps, and the receipt and message forms."""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.portal.document import Answers, DeviceHashes, What, Who
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
    # Filled by devicehash.js: fingerprints of pictures that stay on the device.
    device_hashes = forms.CharField(required=False, max_length=20_000, widget=forms.HiddenInput)

    def clean_device_hashes(self) -> list[DeviceHashes]:
        raw = self.cleaned_data["device_hashes"].strip()
        if not raw:
            return []
        try:
            return parse_device_hashes(raw)
        except ValueError:
            raise forms.ValidationError(_("The fingerprints of your pictures could not be read. Please choose the pictures again.")) from None

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


MAX_DEVICE_HASHES = 5
MAX_DEVICE_BYTES = 100 * 1024 * 1024


def _hex(value: Any, digits: int, *, required: bool = False) -> str:
    value = value or ""
    if not isinstance(value, str) or (value == "" and required):
        raise ValueError("not a hash")
    if value and (len(value) != digits or any(c not in "0123456789abcdef" for c in value)):
        raise ValueError("not a hash")
    return value


def parse_device_hashes(raw: str) -> list[DeviceHashes]:
    """The browser's JSON, strictly: anything else than its own shape is refused."""
    items = json.loads(raw)
    if not isinstance(items, list) or len(items) > MAX_DEVICE_HASHES:
        raise ValueError("not a list of at most five")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("not an object")
        size, quality, dihedral = item.get("size"), item.get("pdq_quality"), item.get("pdq_dihedral") or []
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_DEVICE_BYTES:
            raise ValueError("size")
        pdq = _hex(item.get("pdq"), 64)
        if quality is not None and (not isinstance(quality, int) or isinstance(quality, bool) or not 0 <= quality <= 100):
            raise ValueError("quality")
        if not isinstance(dihedral, list) or len(dihedral) not in (0, 8) or (dihedral and dihedral[0] != pdq):
            raise ValueError("dihedral")
        out.append(DeviceHashes(size=size, md5=_hex(item.get("md5"), 32, required=True), sha1=_hex(item.get("sha1"), 40),
                                sha256=_hex(item.get("sha256"), 64), pdq=pdq, pdq_quality=quality if pdq else None,
                                pdq_dihedral=tuple(_hex(h, 64, required=True) for h in dihedral)))
    return out


class ReceiptForm(forms.Form):
    receipt = forms.CharField(label=_("Your receipt code"), max_length=64,
                              widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "dir": "ltr"}))


class MessageForm(forms.Form):
    text = forms.CharField(label=_("Your message"), max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 4}))
