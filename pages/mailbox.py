"""Sent emails (admin, demo mailbox): the emails Docket would have sent while no SMTP server
is set, kept in the app like a local mail catcher — newest first, each with its text and the
applicant's re-upload link, so a newcomer can follow a re-upload request to the applicant's
page and back (core/notifications/mailbox.py)."""
import pandas as pd
import streamlit as st

from core.access.roles import Permission
from core.notifications import mailbox
from core.notifications.email import smtp_settings
from ui.admin import only_for
from ui.context import current_user, database
from ui.text import esc

db = database()
user = current_user()
only_for(user, Permission.MANAGE_INTEGRATIONS)

st.title("Sent emails", anchor=False)
if smtp_settings(db) is None:
    st.caption("No SMTP server is set, so Docket keeps here the emails it would send (the demo "
               "mailbox). Set one on the Settings page to send them for real.")
else:
    st.caption("An SMTP server is set: new emails are sent, not kept. Below, those kept before.")

items, total = mailbox.list_mail(db, actor=user.username)
if not items:
    st.info("No email yet. Ask for re-uploads on a case, or decide one: the email to the "
            "applicant appears here a moment later.", icon=":material/inbox:")
    st.stop()

st.write(f"{total:,} email{'s' if total != 1 else ''}"
         + (f" · the newest {len(items)} shown" if total > len(items) else ""))
frame = pd.DataFrame([{"Received": m.captured_at, "To": m.to_address, "Subject": m.subject,
                       "Case": m.case_id} for m in items])
picked = st.dataframe(frame, hide_index=True, width="stretch", key="mb_list",
                      on_select="rerun", selection_mode="single-row",
                      column_config={"Received": st.column_config.DatetimeColumn(
                          format="YYYY-MM-DD HH:mm:ss")})
rows = picked.selection.rows
mail = items[rows[0]] if rows else items[0]

with st.container(border=True, key="mb_mail"):
    st.subheader(esc(mail.subject), anchor=False)
    st.text(f"To: {mail.to_name} <{mail.to_address}>" if mail.to_name else f"To: {mail.to_address}")
    st.caption(esc(f"Case {mail.case_id} · {mail.event_type} · "
                   f"{mail.captured_at:%Y-%m-%d %H:%M:%S} UTC"))
    if mail.link:
        st.link_button("Open the applicant's page", mail.link, icon=":material/open_in_new:",
                       type="primary")
    st.text(mail.text_body)
