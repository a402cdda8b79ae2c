"""Sign-in: server-side sessions (idle timeout, lifetime, ended by an admin), the second
factor (TOTP and recovery codes), single sign-on through the team's identity provider, and
the audit of every sign-in step. The dashboard draws the forms (ui/auth.py); every decision
is taken here. See docs/SECURITY.md."""
