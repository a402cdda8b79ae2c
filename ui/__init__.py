"""Small Streamlit helpers the pages are built from: sign-in, the case list, the case preview,
dialogs, badges. Rules are never decided here: every "may I?" is asked of `core`."""
