"""Docket's engine room: the case store, status rules, service layer, intake and CLI.

Plain Python, never imports streamlit: the pages, the CLI (`python -m core`) and the
notification worker all call the same functions here.
"""
