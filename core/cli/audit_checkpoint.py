"""`python -m core audit checkpoint|verify-checkpoint|checkpoints|public-key`: signed
checkpoints of the audit chain from the shell (core/records/checkpoint.py, docs/RECORDS.md
"Checkpoints").

`verify-checkpoint` exits like `audit verify`: 0 the chain still has the checkpoint's root,
1 it does not (or the signature does not verify), 2 an error (no checkpoint, an unreadable
file, no key).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.shell import database, print_json


def add_checkpoint(asub) -> None:
    """Registers the checkpoint subcommands on the `audit` group's subparsers."""
    s = asub.add_parser(
        "checkpoint", help="sign and store a checkpoint of the audit chain now (its size and "
                           "Merkle root); prints the signed note",
        description="Sign a checkpoint over every chained audit event with the key of "
                    "DOCKET_AUDIT_SIGNING_KEY (created on first use), store it and print it. "
                    "Keep the printed note somewhere else too: it is the proof.")
    s.add_argument("--reason", default="on demand", help="why it is written (default: on demand)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(fn=cmd_checkpoint)

    s = asub.add_parser(
        "verify-checkpoint", help="check that the audit chain still has a checkpoint's Merkle "
                                  "root (exit 0 yes, 1 no, 2 error)",
        description="Recompute the Merkle root of the first N chained events and compare it "
                    "with a signed checkpoint (the latest stored one by default): a chain "
                    "edited and re-hashed since fails. Exit 0 matches, 1 mismatch or bad "
                    "signature, 2 error.")
    which = s.add_mutually_exclusive_group()
    which.add_argument("file", nargs="?", help="a signed note saved earlier (a file)")
    which.add_argument("--latest", action="store_true",
                       help="the latest stored checkpoint (the default)")
    which.add_argument("--id", type=int, dest="checkpoint_id", help="a stored checkpoint")
    which.add_argument("--all", action="store_true", help="every stored checkpoint")
    s.add_argument("--public-key", metavar="PEM_FILE",
                   help="the public key to check the signature with (default: the signing "
                        "key's own; give a copy kept apart for an independent check)")
    s.set_defaults(fn=cmd_verify_checkpoint)

    s = asub.add_parser("checkpoints", help="list the stored checkpoints, newest first")
    s.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(fn=cmd_checkpoints)

    s = asub.add_parser("public-key", help="print the checkpoints' public key (PEM) and where "
                                           "the signing key is")
    s.set_defaults(fn=cmd_public_key)


def _events(n: int) -> str:
    return f"{n:,} event" + ("" if n == 1 else "s")


def _key_location() -> str:
    from core.records import checkpoint
    return (f"signing key: {checkpoint.signing_key_path()} (DOCKET_AUDIT_SIGNING_KEY); "
            f"public key: {checkpoint.public_key_path()}")


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from core.records import checkpoint  # deferred: `python -m core --help` stays fast
    cp = checkpoint.write_checkpoint(database(), reason=args.reason)
    if args.json:
        print_json({"id": cp.id, "created_at": cp.created_at, "size": cp.size,
                    "root": cp.root_hex, "head_seq": cp.head_seq, "head_hash": cp.head_hash,
                    "key_id": cp.key_id, "reason": cp.reason, "note": cp.note})
    else:
        print(cp.note, end="")
    print(f"checkpoint {cp.id}: {_events(cp.size)}; {_key_location()}", file=sys.stderr)
    return 0


def cmd_verify_checkpoint(args: argparse.Namespace) -> int:
    from core.errors import DocketError
    from core.records import checkpoint
    try:
        key = (checkpoint.read_public_key(Path(args.public_key).read_bytes())
               if args.public_key else checkpoint.verifying_key())
        db = database()
        if args.file:
            targets = [(args.file, Path(args.file).read_text(encoding="utf-8"))]
        elif args.all:
            targets = [(f"checkpoint {cp.id}", cp) for cp in checkpoint.list_checkpoints(db)]
        else:
            cp = (checkpoint.get_checkpoint(db, args.checkpoint_id) if args.checkpoint_id is not None
                  else checkpoint.latest_checkpoint(db))
            targets = [(f"checkpoint {cp.id}", cp)] if cp else []
        if not targets:
            raise DocketError("no checkpoint stored yet: write one with "
                              "`python -m core audit checkpoint`")
        failed = 0
        for name, target in targets:
            check = checkpoint.verify_against_checkpoint(db, target, key)
            if check.ok:
                print(f"ok: {name}: the first {_events(check.size)} have its Merkle root")
            else:
                failed += 1
                print(f"MISMATCH: {name}: {check.problem}")
    except (DocketError, OSError, UnicodeDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def cmd_checkpoints(args: argparse.Namespace) -> int:
    from core.records import checkpoint
    rows = checkpoint.list_checkpoints(database(), limit=args.limit)
    if args.json:
        print_json([{"id": cp.id, "created_at": cp.created_at, "size": cp.size,
                     "root": cp.root_hex, "head_seq": cp.head_seq, "key_id": cp.key_id,
                     "reason": cp.reason} for cp in rows])
        return 0
    for cp in rows:
        print(f"{cp.id:>5} {cp.created_at:%Y-%m-%d %H:%M:%S} {_events(cp.size):>19}  "
              f"root {cp.root_hex[:16]}…  key {cp.key_id}  {cp.reason}")
    if not rows:
        print("no checkpoint yet")
    return 0


def cmd_public_key(args: argparse.Namespace) -> int:
    from core.records import checkpoint
    print(checkpoint.public_key_pem(), end="")
    print(_key_location(), file=sys.stderr)
    return 0
