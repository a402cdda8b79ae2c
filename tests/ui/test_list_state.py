"""ui.list_state.bind tells a widget its value when the browser may not show it: the internals
it reads (which widgets the browser reported) are checked here, so a Streamlit upgrade that
moves them fails this test instead of silently telling every widget every run."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from ui import list_state

    seen = st.session_state.setdefault("reported", [])
    seen.append(list_state.browser_reported("box"))
    list_state.bind("box", st.session_state.get("wanted", "first"))
    st.text_input("Box", key="box")


def test_a_widget_the_browser_has_not_drawn_is_told_and_one_it_reports_is_left_alone():
    at = AppTest.from_function(_script).run()
    assert at.text_input(key="box").value == "first"
    at.run()  # the browser now reports the box it drew
    assert at.session_state["reported"] == [False, True]
    at.session_state["wanted"] = "second"  # the list changed: the widget is told
    at.run()
    assert at.text_input(key="box").value == "second"
    at.text_input(key="box").input("typed").run()  # no callback changed the list: the box
    assert at.text_input(key="box").value == "second"  # shows the list's value again


def test_without_the_internals_every_widget_is_told(monkeypatch):
    from ui import list_state

    def moved():
        raise AttributeError("moved")
    monkeypatch.setattr(list_state, "get_session_state", moved)
    assert list_state.browser_reported("box") is False
