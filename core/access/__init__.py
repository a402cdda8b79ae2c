"""Who may do what: roles and their permissions (`roles`), the acting user re-read inside each
command and the shared permission checks (`actors`), accounts (`users`), API keys
(`api_keys`), requests made with an Idempotency-Key (`idempotency`) and the sign-in cookie's
settings (`auth_settings`)."""
