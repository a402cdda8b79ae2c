"""Notifications: how a decision leaves the building.

A decision writes outbox rows (`outbox`, in the decision's own transaction) carrying an event
from `event_types`; each row fans out into deliveries (`fanout`), one per matching webhook
endpoint or one for email/SMS/CRM. The dispatcher (`dispatcher`) claims due deliveries, sends
them through a channel (`channels`: webhooks signed by `signing`, email by `email`, SMS/CRM as
templated HTTP) over the SSRF-safe client (`safe_http`), logs every attempt, retries on a
schedule (`retry`) and settles the outbox row (`settle`). Admin-facing: `endpoints` (webhook
endpoint CRUD), `deliveries` (listing, replay, health), `templates` (editable message texts),
`integration_check` ("send test"), `reupload_tokens` (signed single-use links for applicants).
Stored settings (SMTP, SMS, CRM, allow-list) live one level down in `core.settings_store`.
"""
