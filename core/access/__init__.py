"""Who may do what: roles and their permissions (`roles`), the acting user re-read inside each
command and the shared permission checks (`actors`), accounts (`users`) and the sign-in
cookie's settings (`auth_settings`)."""
