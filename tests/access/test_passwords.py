"""Password rules (NIST SP 800-63B): 12 characters to 72 bytes, no composition rules, not a
common password (zxcvbn's list), not the username, not whitespace only. New and changed
passwords only: signing in with an older password still works."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from core.access import passwords, users
from core.access.passwords import check_password
from core.errors import InvalidInput
from core.store.models import User, utcnow

LONG_COMMON = [p for p in FREQUENCY_LISTS["passwords"] if len(p) >= passwords.MIN_LENGTH]


def refusal(password: str, username: str = "") -> str:
    with pytest.raises(InvalidInput) as e:
        check_password(password, username=username)
    if password.strip():  # the rule is named, the password never
        assert password.strip().lower() not in str(e.value).lower()
    return str(e.value)


def test_twelve_characters_are_the_floor():
    assert "at least 12 characters" in refusal("xq7-vlo-bwz")  # 11
    check_password("xq7-vlo-bwze")  # 12
    assert "at least 12 characters" in refusal("")


def test_length_counts_characters_not_bytes():
    check_password("ñéøåüßçæœðþł")  # 12 characters, 24 bytes
    check_password("密码很长但是很好记的句子")  # 12 characters, 36 bytes
    assert "at least 12" in refusal("ñéøåüßçæœðþ")  # 11 characters, 22 bytes


def test_more_than_72_bytes_is_refused():
    check_password("v" * 72)
    assert "at most 72 bytes" in refusal("v" * 73)
    assert "at most 72 bytes" in refusal("é" * 37)  # 37 characters, 74 bytes


def test_no_composition_rules():
    check_password("correct horse battery staple")
    check_password("zzzzqqqqxxxxwwww")
    check_password("4729 1836 5092")


def test_common_passwords_from_zxcvbns_list_are_refused():
    assert len(LONG_COMMON) >= 3
    samples = [LONG_COMMON[0], LONG_COMMON[len(LONG_COMMON) // 2], LONG_COMMON[-1]]
    for common in samples:
        assert "most common passwords" in refusal(common)
    assert "most common passwords" in refusal(samples[0].upper())
    assert "most common passwords" in refusal(f"  {samples[1].title()} ")
    assert passwords.common_passwords() is passwords.common_passwords()  # loaded once
    assert isinstance(passwords.common_passwords(), frozenset)


def test_the_username_is_refused_in_any_case():
    assert "cannot be the username" in refusal("wendeline.usher", "wendeline.usher")
    assert "cannot be the username" in refusal("Wendeline.Usher", "wendeline.usher")
    assert "cannot be the username" in refusal(" WENDELINE.USHER ", "wendeline.usher")
    check_password("wendeline.usher-at-home", username="wendeline.usher")


def test_whitespace_only_is_refused():
    assert "whitespace" in refusal(" " * 12)
    assert "whitespace" in refusal("\t \n" * 5)


def test_add_user_refuses_and_writes_nothing(db):
    def count() -> int:
        with db.read() as s:
            return s.scalar(select(func.count()).select_from(User))
    before = count()
    for bad, rule in (("too-short11", "at least 12"), ("Carol.Reviewer", "the username"),
                      (LONG_COMMON[0], "most common"), (" " * 14, "whitespace")):
        with pytest.raises(InvalidInput, match=rule):
            users.add_user(db, "carol.reviewer", "Carol", "reviewer", bad, actor="admin")
    assert count() == before and users.get_user(db, "carol.reviewer") is None
    users.add_user(db, "carol.reviewer", "Carol", "reviewer", "plum orchard at dusk",
                   actor="admin")
    assert count() == before + 1


def test_set_password_refuses_and_keeps_the_old_hash(db):
    with db.read() as s:
        old_hash = s.get(User, "reviewer").password_hash
    for bad, rule in (("short-pass", "at least 12"), ("  REVIEWER    ", "the username"),
                      (LONG_COMMON[-1], "most common")):
        with pytest.raises(InvalidInput, match=rule):
            users.set_password(db, "reviewer", bad, actor="admin")
    with db.read() as s:
        assert s.get(User, "reviewer").password_hash == old_hash
    assert users.verify_login(db, "reviewer", "demo-reviewer-pass").username == "reviewer"


def test_an_older_short_password_still_signs_in(db):
    with db.unit_of_work() as s:
        s.add(User(username="oldtimer", name="Old Timer", email="", role="reviewer",
                   password_hash=users.hash_password("shortpw"), created_at=utcnow()))
    assert users.verify_login(db, "oldtimer", "shortpw").username == "oldtimer"


def test_the_demo_passwords_meet_the_rules():
    for username, _, _, password in users.DEMO_USERS:
        check_password(password, username=username)
        assert password.lower() not in passwords.common_passwords()


def test_the_documented_list_size_is_the_measured_one():
    admin_doc = (Path(__file__).parents[2] / "docs" / "ADMIN.md").read_text()
    documented = re.search(r"list of the ([\d,]+) most common passwords", admin_doc)
    assert documented, "docs/ADMIN.md names the size of zxcvbn's list"
    assert int(documented.group(1).replace(",", "")) == len(passwords.common_passwords())
