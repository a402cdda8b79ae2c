"""Runs one case action in a separate process (for tests/test_concurrency.py)."""
from __future__ import annotations


def decide(url: str, case_id: str, action: str, version: int, barrier, results) -> None:
    from core import case_actions as ca
    from core.db import Database
    from core.errors import DocketError
    db = Database(url)
    try:
        barrier.wait(timeout=30)
        if action == "approve":
            ca.approve_case(db, case_id, actor="reviewer", expected_version=version)
        else:
            ca.reject_case(db, case_id, actor="reviewer", expected_version=version, reason="race")
        results.put((action, "won"))
    except DocketError as e:
        results.put((action, type(e).__name__ + ": " + str(e)))
    except Exception as e:  # anything else is a bug the test must show
        results.put((action, "crash " + repr(e)))
    finally:
        db.dispose()
