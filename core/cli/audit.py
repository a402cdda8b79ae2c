"""`python -m core audit verify|protect|checkpoint`: the audit chain from the shell (docs/RECORDS.md).

The subcommands' arguments and functions live beside their logic's owners: `audit_verify.py`
and `audit_checkpoint.py`; this module only makes the group.
"""
from __future__ import annotations

import argparse

from core.cli import audit_checkpoint, audit_verify


def add_parser(sub: argparse._SubParsersAction) -> None:
    text = "The tamper-evident audit chain: verify it, write a signed checkpoint (docs/RECORDS.md)"
    sp = sub.add_parser("audit", help=text, description=text)
    asub = sp.add_subparsers(dest="audit_command", required=True, metavar="AUDIT_COMMAND")
    audit_verify.add_verify(asub)
    audit_verify.add_protect(asub)
    audit_checkpoint.add_checkpoint(asub)
