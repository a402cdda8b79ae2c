"""Demo rings: a few groups of demo cases that share what fraud rings share, so a newcomer
opening one sees "Related cases (N)" (core/cases/related.py) with something in it.

Why it exists: generated cases draw names, addresses and numbers from pools and are meant
not to link; real books have rings. Every load of at least RING_MIN_CASES cases plants three,
at fixed places of the load (the newest of each in Manual review, older ones decided):

- "owner": one person (the same name and birth date) is the first UBO of four companies,
  one of them rejected;
- "office": two companies at the same address, with the same phone and email domain (not
  the same mailbox), one of them rejected;
- "file": two applicants sent the same utility bill, byte for byte (`files.ring_file`).

The values come from a generator seeded with the load's seed and first case number, so a
load is repeatable and a second load plants rings of its own.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from core.demo.world import COUNTRIES, _country_pools, _slug

RING_MIN_CASES = 60
OWNER, OFFICE, FILE = "owner", "office", "file"
RING_COUNTRY = "HK"


@dataclass(frozen=True)
class RingSlot:
    role: str      # owner | office | file
    member: int    # 0 for the newest
    status: str    # the case's status (the templates drawn are of this status)


@dataclass(frozen=True)
class RingValues:
    owner_name: str
    owner_born: str
    phone: str
    address: str      # without the unit: "{number} {street}, {city}, Hong Kong"
    unit: str
    domain: str
    mailboxes: tuple[str, str]


def ring_slots(n_cases: int) -> dict[int, RingSlot]:
    """Case index in the load -> its ring slot (none below RING_MIN_CASES cases). The
    first cases of a load have forced statuses (every status present): slots start later."""
    if n_cases < RING_MIN_CASES:
        return {}
    n = n_cases
    return {
        n - 2: RingSlot(OWNER, 0, "manual_review"),
        n * 3 // 4: RingSlot(OWNER, 1, "approved"),
        n // 2: RingSlot(OWNER, 2, "rejected"),
        n // 5: RingSlot(OWNER, 3, "approved"),
        n - 4: RingSlot(OFFICE, 0, "manual_review"),
        n * 2 // 3: RingSlot(OFFICE, 1, "rejected"),
        n - 6: RingSlot(FILE, 0, "manual_review"),
        n // 3: RingSlot(FILE, 1, "approved"),
    }


def ring_values(seed: int, first_case: int, birth_dates: list[str]) -> RingValues:
    rng = random.Random(f"rings:{seed}:{first_case}")
    country = next(c for c in COUNTRIES if c.code == RING_COUNTRY)
    pools = _country_pools(country)
    owner_name = rng.choice(pools.persons)[0]
    prefix = rng.choice(country.company_prefixes)
    return RingValues(
        owner_name=owner_name, owner_born=rng.choice(birth_dates),
        phone=f"+852 {rng.randrange(2000, 3999)} {rng.randrange(10_000):04d}",
        address=f"{rng.randrange(1, 300)} {rng.choice(country.streets)}, "
                f"{rng.choice(country.cities)}, {country.name}",
        unit=f"Room {rng.randrange(5, 40)}{rng.choice('ABCDEF')}",
        domain=f"{_slug(prefix)}group.com.hk", mailboxes=("info", "finance"))


def wants(role: str, business: bool, has_ubos: bool, document_types: set[str]) -> bool:
    """Whether a case template can play the role."""
    if role == OWNER:
        return business and has_ubos
    if role == OFFICE:
        return business
    return "proof_of_address" in document_types
