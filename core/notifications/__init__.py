"""Notifications: how a decision leaves the building.

A decision's outbox rows (core/outbox.py, written in the decision's transaction) fan out into
deliveries (`fanout`), one per webhook endpoint or one for email/SMS/CRM. The dispatcher
(`dispatcher`) claims due deliveries, sends them through a channel (`channels`: webhooks
signed by `signing`, email by `email`, SMS/CRM as templated HTTP) over the SSRF-safe client
(`safe_http`), logs every attempt and retries on a schedule (`retry`). Admin-facing functions:
`endpoints` (webhook endpoint CRUD), `deliveries` (listing, replay, health),
`settings_store` (SMTP/SMS/CRM settings, secrets write-only), `templates` (editable message
texts), `reupload_tokens` (signed single-use links for applicants).
"""
