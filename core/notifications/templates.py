"""Message texts as editable Jinja2 templates: defaults here, admin overrides in `settings`.

Rendered in a SandboxedEnvironment (a template cannot reach Python internals); HTML parts are
autoescaped, text and JSON parts are not (JSON templates use the `tojson` filter). A template
is checked when saved: it must compile and render the sample context without unknown names,
and request templates must produce JSON.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from core import settings_store
from core.errors import InvalidInput
from core.store.db import Database

_SIGN_OFF = "Kind regards,\nThe compliance team\n"
_HTML_SIGN_OFF = "<p>Kind regards,<br>The compliance team</p>\n"

DEFAULTS: dict[str, str] = {
    # --- emails to the applicant ---
    "email.case.approved.subject": "Your application {{ case.id }} has been approved",
    "email.case.approved.text": (
        "Hello {{ entity.name }},\n\nGood news: your application {{ case.id }} has been "
        "approved.\n{% if decision.reason %}\nNote from our team: {{ decision.reason }}\n"
        "{% endif %}\n" + _SIGN_OFF),
    "email.case.approved.html": (
        "<p>Hello {{ entity.name }},</p>\n<p>Good news: your application <b>{{ case.id }}</b> "
        "has been approved.</p>\n{% if decision.reason %}<p>Note from our team: "
        "{{ decision.reason }}</p>\n{% endif %}" + _HTML_SIGN_OFF),
    "email.case.rejected.subject": "Your application {{ case.id }}",
    "email.case.rejected.text": (
        "Hello {{ entity.name }},\n\nWe are sorry: we cannot approve your application "
        "{{ case.id }}.\n\nReason: {{ decision.reason }}\n\n" + _SIGN_OFF),
    "email.case.rejected.html": (
        "<p>Hello {{ entity.name }},</p>\n<p>We are sorry: we cannot approve your application "
        "<b>{{ case.id }}</b>.</p>\n<p>Reason: {{ decision.reason }}</p>\n" + _HTML_SIGN_OFF),
    "email.case.revision_requested.subject":
        "Action needed: new documents for your application {{ case.id }}",
    "email.case.revision_requested.text": (
        "Hello {{ entity.name }},\n\nTo continue with your application {{ case.id }} we need "
        "a new version of {{ 'this document' if reuploads|length == 1 else 'these documents' }}:"
        "\n\n{% for r in reuploads %}- {{ r.label }}: {{ r.reason or 'please upload it again' }}\n"
        "{% endfor %}\nUpload {{ 'it' if reuploads|length == 1 else 'them' }} here (the link "
        "works once, until {{ link_expires }}):\n{{ reupload_link }}\n\n" + _SIGN_OFF),
    "email.case.revision_requested.html": (
        "<p>Hello {{ entity.name }},</p>\n<p>To continue with your application "
        "<b>{{ case.id }}</b> we need a new version of these documents:</p>\n<ul>\n"
        "{% for r in reuploads %}<li><b>{{ r.label }}</b>: {{ r.reason or 'please upload it "
        "again' }}</li>\n{% endfor %}</ul>\n<p><a href=\"{{ reupload_link }}\">Upload the "
        "documents</a> (the link works once, until {{ link_expires }}).</p>\n" + _HTML_SIGN_OFF),
    "email.kyc.reupload_requested.subject": "Please verify your identity again",
    "email.kyc.reupload_requested.text": (
        "Hello {{ ubo.full_name }},\n\nAs an owner of {{ entity.name }} (application "
        "{{ case.id }}) you are asked to verify your identity again."
        "{% if reason %}\nReason: {{ reason }}{% endif %}\n\nStart here (the link works once, "
        "until {{ link_expires }}):\n{{ reupload_link }}\n\n" + _SIGN_OFF),
    "email.kyc.reupload_requested.html": (
        "<p>Hello {{ ubo.full_name }},</p>\n<p>As an owner of {{ entity.name }} (application "
        "<b>{{ case.id }}</b>) you are asked to verify your identity again.</p>\n"
        "{% if reason %}<p>Reason: {{ reason }}</p>\n{% endif %}<p><a href=\"{{ reupload_link }}"
        "\">Start the verification</a> (the link works once, until {{ link_expires }}).</p>\n"
        + _HTML_SIGN_OFF),
    # --- the daily overdue digest to staff (core/worklist/digest.py) ---
    "email.sla.overdue_digest.subject": (
        "{{ digest.total }} overdue case{{ '' if digest.total == 1 else 's' }}"
        "{{ ' in the team' if digest.role == 'lead' else ' assigned to you' }} ({{ digest.day }})"),
    "email.sla.overdue_digest.text": (
        "Hello {{ recipient.name }},\n\n{{ digest.total }} case{{ '' if digest.total == 1 "
        "else 's' }} {{ 'in the team' if digest.role == 'lead' else 'assigned to you' }} "
        "{{ 'is' if digest.total == 1 else 'are' }} past their due time:\n\n{% for c in digest.cases %}- {{ c.id }} {{ c.entity }} "
        "({{ c.status }}, due {{ c.due_at }}, overdue {{ c.overdue }}{% if digest.role == 'lead'"
        " %}, {{ c.assignee or 'unassigned' }}{% endif %})\n{% endfor %}"
        "{% if digest.more %}... and {{ digest.more }} more.\n{% endif %}"
        "{% if digest.by_assignee %}\nPer assignee:\n{% for a in digest.by_assignee %}- "
        "{{ a.assignee or 'unassigned' }}: {{ a.count }}\n{% endfor %}{% endif %}\n"
        "Docket\n"),
    "email.sla.overdue_digest.html": (
        "<p>Hello {{ recipient.name }},</p>\n<p>{{ digest.total }} case{{ '' if digest.total"
        " == 1 else 's' }} {{ 'in the team' if digest.role == 'lead' else 'assigned to you' }} "
        "{{ 'is' if digest.total == 1 else 'are' }} past their due time:</p>\n<ul>\n{% for c in digest.cases %}<li><b>{{ c.id }}"
        "</b> {{ c.entity }} ({{ c.status }}, due {{ c.due_at }}, overdue {{ c.overdue }}"
        "{% if digest.role == 'lead' %}, {{ c.assignee or 'unassigned' }}{% endif %})</li>\n"
        "{% endfor %}</ul>\n{% if digest.more %}<p>... and {{ digest.more }} more.</p>\n"
        "{% endif %}{% if digest.by_assignee %}<p>Per assignee:</p>\n<ul>\n"
        "{% for a in digest.by_assignee %}<li>{{ a.assignee or 'unassigned' }}: {{ a.count }}"
        "</li>\n{% endfor %}</ul>\n{% endif %}<p>Docket</p>\n"),
    # --- SMS texts, and the JSON sent to the SMS gateway ---
    "sms.case.approved": "Your application {{ case.id }} has been approved.",
    "sms.case.rejected": "Your application {{ case.id }} could not be approved. See your email.",
    "sms.case.revision_requested":
        "Application {{ case.id }}: please upload new documents, see your email.",
    "sms.kyc.reupload_requested": "Please verify your identity again, see your email.",
    "sms.request": ('{"to": {{ to|tojson }}, "text": {{ text|tojson }}, '
                    '"reference": {{ message_id|tojson }}}'),
    # --- the generic CRM call's JSON body ---
    "crm.request": ('{"event": {{ event_type|tojson }}, "message_id": {{ message_id|tojson }}, '
                    '"case_id": {{ case.id|tojson }}, "status": {{ case.status|tojson }}, '
                    '"entity": {{ entity|tojson }}, "decision": {{ decision|tojson }}}'),
}
JSON_TEMPLATES = ("sms.request", "crm.request")

SAMPLE_CONTEXT: dict[str, Any] = {
    "event_type": "case.revision_requested", "message_id": "msg_0123456789abcdef",
    "case": {"id": "C-1", "workflow": "onboarding", "status": "revisions", "version": 3,
             "entity": {"type": "business", "name": "Acme Ltd", "email": "owner@acme.example",
                        "phone": "+44 20 7946 0000", "country": "GB",
                        "registration_number": "01234567"},
             "user_data": {}, "created_at": "2026-11-01T10:00:00Z"},
    "entity": {"type": "business", "name": "Acme Ltd", "email": "owner@acme.example",
               "phone": "+44 20 7946 0000", "country": "GB", "registration_number": "01234567"},
    "decision": {"action": "ask_for_reuploads", "reason": "Expired", "actor": "reviewer",
                 "at": "2026-11-02T10:00:00Z"},
    "reuploads": [{"block": "document:1", "reason": "Expired document",
                   "document_type": "passport", "label": "Passport"}],
    "reupload_link": "https://docket.example/?reupload=TOKEN", "link_expires": "2 December 2026",
    "ubo": {"id": 1, "full_name": "Jane Owner", "email": "jane@acme.example"},
    "reason": "Photo unreadable", "to": "+44 20 7946 0000", "text": "Hello",
    "recipient": {"username": "alice", "name": "Alice Reviewer", "email": "alice@docket.example"},
    "digest": {"day": "2026-12-06", "role": "lead", "total": 2, "more": 1,
               "cases": [{"id": "C-1", "entity": "Acme Ltd", "workflow": "onboarding",
                          "status": "Manual review", "due_at": "2026-12-05 10:00 UTC",
                          "overdue": "1 d", "assignee": "alice"}],
               "by_assignee": [{"assignee": "alice", "count": 1},
                               {"assignee": None, "count": 1}]},
}

_text_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_html_env = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)
_strict_text = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
_strict_html = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


def _env(name: str, strict: bool = False) -> SandboxedEnvironment:
    html = name.endswith(".html")
    if strict:
        return _strict_html if html else _strict_text
    return _html_env if html else _text_env


def _check_name(name: str) -> None:
    if name not in DEFAULTS:
        raise InvalidInput(f"unknown template {name!r}; known: {', '.join(DEFAULTS)}")


def source(db: Database, name: str) -> str:
    _check_name(name)
    with db.read() as s:
        override = settings_store.value(s, settings_store.TEMPLATE_PREFIX + name)
    return override or DEFAULTS[name]


def render(db: Database, name: str, context: dict[str, Any]) -> str:
    text = _env(name).from_string(source(db, name)).render(**context)
    if name in JSON_TEMPLATES:
        try:
            json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"template {name} did not produce JSON: {e}") from None
    return text


def check_template(name: str, text: str) -> None:
    """Refuse a template that does not compile, names unknown variables, or (request
    templates) does not render to JSON. The message says where."""
    _check_name(name)
    try:
        out = _env(name, strict=True).from_string(text).render(**SAMPLE_CONTEXT)
    except TemplateError as e:
        where = f" (line {e.lineno})" if getattr(e, "lineno", None) else ""
        raise InvalidInput(f"template {name}: {e.message or e}{where}") from None
    if name in JSON_TEMPLATES:
        try:
            json.loads(out)
        except json.JSONDecodeError as e:
            raise InvalidInput(f"template {name} must render to JSON: {e}") from None


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    source: str
    is_default: bool
    default: str


def list_templates(db: Database) -> list[TemplateInfo]:
    with db.read() as s:
        out = []
        for name, default in DEFAULTS.items():
            override = settings_store.value(s, settings_store.TEMPLATE_PREFIX + name)
            out.append(TemplateInfo(name, override or default, not override, default))
    return out


def set_template(db: Database, name: str, text: str, *, actor: str) -> None:
    """Save an override (admin); checked first, so a broken template is never stored."""
    check_template(name, text)
    settings_store.set_setting(db, settings_store.TEMPLATE_PREFIX + name, text, actor=actor)


def reset_template(db: Database, name: str, *, actor: str) -> None:
    _check_name(name)
    settings_store.clear_setting(db, settings_store.TEMPLATE_PREFIX + name, actor=actor)
