"""`python -m core export-case` and `python -m core verify-bundle`: the examiner's case file
from the shell (core/records/case_file.py, docs/RECORDS.md "The examiner's case file").

`verify-bundle` runs the same code as the `verify_bundle.py` inside every bundle and exits like
it: 0 every file is as exported, 1 a file was changed, added or removed (named), 2 the bundle
could not be read.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.cli.shell import database

NO_RECIPIENT = "not named"


def add_parser(sub) -> None:
    """Registers `export-case` and `verify-bundle` on the main parser's subparsers."""
    text = ("Export one case as the examiner's case file: a signed ZIP with the case as PDF, "
            "HTML and JSON, every document version, its audit events with inclusion proofs, "
            "the access log and a manifest (team leads and admins; docs/RECORDS.md)")
    sp = sub.add_parser("export-case", help=text, description=text)
    sp.add_argument("case", help="case id")
    sp.add_argument("--profile", required=True, choices=["examiner", "subject-access"],
                    help="examiner: everything; subject-access: the applicant's copy, without "
                         "internal notes, the 'suspicious' tag or true-match reasons")
    sp.add_argument("--out", required=True, metavar="FILE.zip", help="the ZIP to write")
    sp.add_argument("--as", dest="as_user", required=True, metavar="USER",
                    help="the team lead or admin exporting it (the access log names them)")
    sp.add_argument("--recipient", default=NO_RECIPIENT, metavar="TEXT",
                    help="to whom the file goes (the access log records it; default: "
                         f"'{NO_RECIPIENT}')")
    sp.add_argument("--force", action="store_true", help="replace FILE.zip if it exists")
    sp.set_defaults(fn=cmd_export_case)

    text = ("Check a case file ZIP (or its unpacked folder): every file's SHA-256 against the "
            "manifest, and the signatures; exit 0 intact, 1 changed (the file named), 2 error")
    sp = sub.add_parser("verify-bundle", help=text, description=text)
    sp.add_argument("file", metavar="FILE.zip", help="the case file (a ZIP or a folder)")
    sp.set_defaults(fn=cmd_verify_bundle)


def cmd_export_case(args: argparse.Namespace) -> int:
    from core.records.case_file import export_case_file  # deferred: --help stays fast
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists (give --force to replace it)", file=sys.stderr)
        return 1
    result = export_case_file(database(), args.case, profile=args.profile, actor=args.as_user,
                              recipient=args.recipient)
    temp = out.with_name(f".{out.name}.part")
    temp.write_bytes(result.data)
    os.replace(temp, out)
    print(f"wrote {out}: case {result.case_id}, profile {result.profile}, "
          f"{len(result.files)} files, case.pdf {result.pages} pages, "
          f"{'signed' if result.signed else 'NOT signed'}")
    print(f"manifest sha256 {result.manifest_sha256}")
    return 0


def cmd_verify_bundle(args: argparse.Namespace) -> int:
    from core.records import case_file_verify  # deferred: --help stays fast
    return case_file_verify.main([args.file])
