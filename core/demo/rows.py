"""The row factory: the rows of a batch of demo cases, as tuples in table column order.

Why it exists: this is the hot loop of a million-case load. Everything that can be is
precomputed once (per template, per country, dates and times as strings, JSON pieces), so a
case costs a few random numbers and string joins; ids are assigned here too, from the first
free id of each table. The rows go to the database through `core.demo.bulk_load`.
"""
from __future__ import annotations

import bisect
import random
from datetime import datetime, timedelta
from typing import Callable, Sequence

from core.cases.case_keys import (
    ADDRESS,
    DOCUMENT,
    EMAIL,
    PERSON,
    PHONE,
    REGISTRATION,
    address_words,
    email_value,
    person_words,
    phone_value,
    registration_value,
    stored,
)
from core.cases.status import CaseStatus
from core.demo.audit_rows import sealed_audit_rows
from core.demo.case_templates import STATUS_MIX_BY_AGE, _templates
from core.demo.rings import FILE, OFFICE, OWNER, RING_COUNTRY, ring_slots, ring_values, wants
from core.demo.world import (
    APPROVE_REASONS,
    AUDITORS,
    BANKS,
    COUNTRIES,
    INDUSTRIES,
    KYC_VENDORS,
    OCCUPATIONS,
    REJECT_REASONS,
    REVISION_REASONS,
    SCREENING_VENDORS,
    TAG_SETS,
    UTILITIES,
    _country_pools,
    _j,
)
from core.workflows.sla import Sla, due_at

FALLBACK_REVIEWER = "demo.reviewer"  # decided_by when the database has no reviewer yet
US_AREA_CODES = ("212", "415", "512", "305", "312", "302", "646", "718", "310", "213", "617",
                 "202", "206", "404", "713", "214", "602", "303", "702", "801", "503", "615",
                 "704", "919")
CA_AREA_CODES = ("416", "647", "437", "514", "438", "604", "778", "403", "587", "613")
DOMAIN_VARIANTS = ("", "group", "intl", "global", "asia", "co", "hq", "trade", "biz", "online",
                   "corp", "ltd", "holdings", "partners", "ventures", "capital", "pro", "plus",
                   "world", "net")
HISTORY_DAYS = 180

COLUMNS: dict[str, tuple[str, ...]] = {
    "entities": ("id", "kind", "name", "email", "phone", "country", "registration_number"),
    "cases": ("id", "workflow", "entity_id", "case_status", "collection_completed", "decision",
              "decision_reason", "decided_by", "decided_at", "assignee", "risk_score", "tags",
              "user_data", "registry_data", "enriched_data", "created_at", "updated_at",
              "status_changed_at", "version", "due_at", "entity_name", "entity_country",
              "entity_kind"),  # the entity's, as migration 0011's triggers would copy them
    "ubos": ("id", "case_id", "full_name", "email", "date_of_birth", "nationality",
             "ownership_percent", "kyc_state", "kyc_result", "block_status", "reupload_reason",
             "reviewed_by", "reviewed_at"),
    "documents": ("id", "case_id", "ubo_id", "document_type", "properties", "block_status",
                  "reupload_reason", "reviewed_by", "reviewed_at"),
    "document_files": ("id", "document_id", "version", "filename", "blob_sha256", "uploaded_at",
                       "uploaded_by"),
    "processes": ("id", "case_id", "name", "state", "detail", "updated_at"),
    "decisions": ("id", "case_id", "action", "reason", "actor", "at"),
    # each case's first audit event makes its subject key (core/store/audit_values.py): the
    # loaded cases are new, so their keys are made here and the values written sealed only
    "audit_subject_keys": ("case_id", "key", "created_at"),
    "audit_events": ("id", "case_id", "at", "actor", "kind", "sealed_values"),
    # related cases (core/cases/case_keys.py): the values written, normalised as it does;
    # the stock document files are not keyed (each stands in for an applicant's own file)
    "case_keys": ("case_id", "kind", "value", "shown"),
}
TABLE_ORDER = tuple(COLUMNS)
ID_TABLES = ("entities", "ubos", "documents", "document_files", "processes", "decisions",
             "audit_events")


def _reg_formatter(code: str) -> Callable[[int], str]:
    """Company registration numbers shaped like each country's (not valid check digits)."""
    return {
        "HK": lambda n: "%07d" % (n % 10_000_000),
        "CN": lambda n: "91%04d00MA%08X" % (4403 + n % 97, n % 0xFFFFFFFF),
        "SG": lambda n: "20%08d%s" % (n % 100_000_000, "KMNRWZ"[n % 6]),
        "GB": lambda n: ("SC%06d" % (n % 1_000_000)) if n % 9 == 0 else "%08d" % (n % 20_000_000),
        "US": lambda n: "%02d-%07d" % (n % 90 + 10, n % 10_000_000),
        "DE": lambda n: "HRB %d" % (10_000 + n % 290_000),
        "FR": lambda n: "%03d %03d %03d" % (n % 1000, n // 1000 % 1000, n // 1_000_000 % 1000),
        "AE": lambda n: ("DMCC-%06d" if n % 3 == 0 else "CN-%07d") % (n % 1_000_000),
        "CH": lambda n: "CHE-%03d.%03d.%03d" % (n % 1000, n // 1000 % 1000, n // 1_000_000 % 1000),
        "NL": lambda n: "%08d" % (n % 100_000_000),
        "JP": lambda n: "%013d" % (n % 10**13),
        "IN": lambda n: "U%05dMH20%02dPTC%06d" % (n % 100_000, n % 24, n // 7 % 1_000_000),
    }.get(code, lambda n: "%03d %03d %03d" % (n % 1000, n // 1000 % 1000, n // 1_000_000 % 1000))


def _phone_formatter(fmt: str) -> Callable[[int], str]:
    def phone(n: int) -> str:
        return fmt.format(a1=n % 10, a2=f"{n % 100:02d}", a3=f"{n % 1000:03d}",
                          a4=f"{n % 10000:04d}", b2=f"{n // 100 % 100:02d}",
                          b3=f"{n // 1000 % 1000:03d}", b4=f"{n // 10000 % 10000:04d}",
                          c1=8 + n % 2, c2=f"{n // 10**8 % 100:02d}", d2=f"{n // 10**10 % 100:02d}",
                          ac=US_AREA_CODES[n % 24], cac=CA_AREA_CODES[n % 10])
    return phone


class _RowFactory:
    """Builds the rows of a batch of cases as tuples in table column order (the hot loop:
    everything that can be is precomputed here, per template and per country)."""

    def __init__(self, seed: int, n_cases: int, first_case: int, first_id: dict[str, int],
                 reviewers: list[str], extra_tags: Sequence[str], with_audit: bool, now: str,
                 files: dict[str, list[tuple[str, str, str]]],
                 sla: dict[tuple[str, str], Sla] | None = None,
                 ring_file: tuple[str, str] | None = None):
        self.rng = random.Random(seed)
        self.n = n_cases
        self.first_case = first_case
        self.next_id = dict(first_id)
        self.reviewers = reviewers
        self.with_audit = with_audit
        now = datetime.fromisoformat(now)
        self.now_text = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        origin = (now - timedelta(days=HISTORY_DAYS + 1)).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
        self.now_s = (now - origin).total_seconds()
        # (workflow, status) -> the SLA's hours (round the clock) or the Sla (business hours)
        self.sla = {k: v.hours if v.business_hours is None else v for k, v in (sla or {}).items()}
        self.origin = origin
        ahead = int(max((v.hours for v in (sla or {}).values()), default=0) // 24) + 1
        self.days = [(origin + timedelta(days=d)).strftime("%Y-%m-%d ")
                     for d in range(HISTORY_DAYS + 3 + ahead)]
        self.hms = [f"{h:02d}:{m:02d}:{s:02d}." for h in range(24) for m in range(60)
                    for s in range(60)]
        self.mix = []
        for max_age, weights in STATUS_MIX_BY_AGE:
            cum, total = [], 0.0
            for st in weights:
                total += weights[st]
                cum.append(total)
            self.mix.append((max_age * 86400.0, list(weights), [c / total for c in cum]))
        self.statuses = [s.value for s in CaseStatus]

        # countries: a weighted slot list; per country, pools of names with JSON pieces
        self.country_slots = []
        self.person_words: dict[str, str] = {}  # name -> its words as a person key has them
        for c in COUNTRIES:
            p = _country_pools(c)
            word = "Flat" if c.code in ("HK", "SG", "GB") else "Unit"
            entry = (c.code, p, _reg_formatter(c.code), _phone_formatter(c.phone),
                     [(name, jname, *domain.split(".", 1),
                       f'{{"company_name": {jname}, "registration_number": "')
                      for name, jname, domain in p.businesses],
                     [(name, jname, local, f'{{"full_name": {jname}, "date_of_birth": "')
                      for name, jname, local in p.persons],
                     [(_j(place)[1:-1], place, address_words(place)) for place in p.places],
                     [(f"{word} {floor}{letter}", f"unit {floor}{letter.lower()}")
                      for floor in range(1, 61) for letter in "ABCDEFGH"])
            self.country_slots.extend([entry] * c.weight)
            self.person_words.update((name, person_words(name)) for name, _, _ in p.persons)

        # templates: everything static about a case, in the order the loop needs it
        assign_p = {"collection_flow": 0.0, "pending_process": 0.3,
                    "pending_id_verification": 0.4, "revisions": 0.8}
        self.groups: dict[str, list[tuple]] = {}
        for status, templates in _templates(seed).items():
            compiled = []
            for t in templates:
                procs = tuple((name, state, detail, state == "pending")
                              for name, state, detail in t.processes)
                ubos = tuple((u.kyc_state, u.outcome, u.block_status, u.reupload_reason,
                              {"clear": 0.85, "consider": 0.5, "declined": 0.05}.get(u.outcome, 0))
                             for u in t.ubos)
                docs = tuple((d.document_type, d.block_status, d.reupload_reason,
                              d.block_status is not None, d.versions == 2, d.ubo_index,
                              files[d.document_type]) for d in t.docs)
                has_registry = any(n == "registry_lookup" and st == "completed"
                                   for n, st, _ in t.processes)
                screened = any(n == "sanctions_screening" and st == "completed"
                               for n, st, _ in t.processes)
                action = {"approved": "approve", "rejected": "reject"}.get(t.decision or "")
                compiled.append((
                    t.kind == "business", t.kind, t.workflow, t.status,
                    int(t.collection_completed), t.decision, action, t.risk[0],
                    t.risk[1] - t.risk[0] + 1, 1 + t.reviewed_blocks + (t.decision is not None)
                    + t.asked_reuploads, assign_p.get(t.status, 0.55), procs, ubos, docs,
                    t.asked_reuploads, has_registry, screened,
                    t.collection_completed or t.decision is not None))
            self.groups[status] = compiled

        tags = [_j(sorted(set(t) | set(extra_tags))) for t in TAG_SETS]
        self.tag_sets = tags
        self.monitoring_tags = _j(sorted({"periodic_review", *extra_tags}))
        self.dobs = [f"{1950 + y}-{m:02d}-{d:02d}" for y in range(55) for m in range(1, 13)
                     for d in range(1, 29)]  # people meet by name and birth date rarely
        self.inc_dates = [f"{1985 + y}-{m:02d}-{d:02d}" for y in range(40) for m in range(1, 13)
                          for d in (2, 11, 18, 25)]
        self.expiries = [f"{2027 + y}-{m:02d}-{d:02d}" for y in range(9) for m in range(1, 13)
                         for d in (4, 12, 19, 26)]
        self.industries = [_j(x) for x in INDUSTRIES]
        self.occupations = [_j(x) for x in OCCUPATIONS]
        self.kyc_prefix = {o: [f'{{"vendor": "{v}", "outcome": "{o}", "score": ' for v in KYC_VENDORS]
                           for o in ("clear", "consider", "declined")}
        self.enriched = [f'{{"screened_by": "{v}", "sanctions_hits": 0, "pep": {pep}, '
                         f'"adverse_media_hits": {hits}}}'
                         for v in SCREENING_VENDORS for pep in ("false",) * 12 + ("true",)
                         for hits in (0, 0, 0, 0, 1, 1, 2, 3)]
        self.approve_reasons = list(APPROVE_REASONS)
        self.reject_reasons = list(REJECT_REASONS)
        self.business_mail = ("info", "compliance", "admin", "finance", "contact", "onboarding")

        # demo rings (core/demo/rings.py): their slots, values and the templates that fit
        self.ring_slots = ring_slots(n_cases)
        self.ring = ring_values(seed, first_case, self.dobs)
        self.ring_file = ring_file
        self.ring_country = next(e for e in self.country_slots if e[0] == RING_COUNTRY)
        office = f"{self.ring.unit}, {self.ring.address}"
        self.ring_address = (_j(office), office, stored(address_words(office)))
        self.ring_groups = {
            (slot.role, slot.status): [t for t in self.groups[slot.status] if wants(
                slot.role, t[0], bool(t[12]), {d[0] for d in t[13]})] or self.groups[slot.status]
            for slot in self.ring_slots.values()}

    def batch(self, start: int, size: int) -> dict[str, list[tuple]]:
        ent_rows: list[tuple] = []
        case_rows: list[tuple] = []
        ubo_rows: list[tuple] = []
        doc_rows: list[tuple] = []
        file_rows: list[tuple] = []
        proc_rows: list[tuple] = []
        dec_rows: list[tuple] = []
        audit_rows: list[tuple] = []
        key_rows: list[tuple] = []
        key = key_rows.append
        r = self.rng.random
        n = self.n
        span = HISTORY_DAYS * 86400.0
        now_s = self.now_s
        t0 = now_s - span
        days, hms = self.days, self.hms
        slas, origin = self.sla, self.origin

        def ts(t: float) -> str:
            d = int(t / 86400.0)
            sec = t - d * 86400.0
            si = int(sec)
            return f"{days[d]}{hms[si]}{int((sec - si) * 1e6):06d}"

        nid = self.next_id
        eid, uid, did, fid = nid["entities"], nid["ubos"], nid["documents"], nid["document_files"]
        pid, decid, aid = nid["processes"], nid["decisions"], nid["audit_events"]
        reviewers = self.reviewers
        n_rev = len(reviewers)
        groups, mix, statuses = self.groups, self.mix, self.statuses
        slots = self.country_slots
        n_slots = len(slots)
        dobs, n_dobs = self.dobs, len(self.dobs)
        inc_dates, expiries = self.inc_dates, self.expiries
        industries, occupations = self.industries, self.occupations
        tag_sets, n_tags, monitoring_tags = self.tag_sets, len(self.tag_sets), self.monitoring_tags
        kyc_prefix, enriched_pool = self.kyc_prefix, self.enriched
        approve_reasons, reject_reasons = self.approve_reasons, self.reject_reasons
        business_mail = self.business_mail
        with_audit = self.with_audit
        first_case = self.first_case
        force = n >= 7
        rings, rv, person_key = self.ring_slots, self.ring, self.person_words
        for i in range(start, start + size):
            case_id = f"C-{first_case + i:07d}"
            created = t0 + (i + r()) / n * span
            age = now_s - created
            ring = rings.get(i) if rings else None
            if i < 7 and force:
                status = statuses[i]  # every status is present in every run
            elif ring is not None:
                status = ring.status
            else:
                for max_age, names, cum in mix:
                    if age < max_age:
                        status = names[bisect.bisect_left(cum, r())]
                        break
            group = groups[status] if ring is None else self.ring_groups[(ring.role, status)]
            (business, kind, workflow, status, collected, decision, action, risk_lo, risk_span,
             version, assign_p, procs, ubos, docs, asked, has_registry, screened,
             moved) = group[int(r() * len(group))]
            country = slots[int(r() * n_slots)]
            office = ring is not None and ring.role == OFFICE
            code, cp, reg_of, phone_of, businesses, persons, places, units = (
                self.ring_country if office else country)
            k = int(r() * 1e15)  # one random number feeds the numbers below
            phone = rv.phone if office else phone_of(k)
            if office:
                addr, address, address_key = self.ring_address
            else:  # a number and a unit of its own: addresses do not link by chance
                place_j, place, place_key = places[k % len(places)]
                unit, unit_key = units[k // 13 % len(units)]
                number = 1 + k // 7919 % 199
                addr = f'"{unit}, {number} {place_j}"'
                address = f"{unit}, {number} {place}"
                address_key = stored(f"{unit_key} {number} {place_key}")
            if business:
                name, jname, stem, tld, ud = businesses[k % len(businesses)]
                # companies of one name (the pools repeat) have domains of their own
                domain = rv.domain if office else (
                    f"{stem}{DOMAIN_VARIANTS[k // 31 % 20]}{k // 631 % 50 or ''}.{tld}")
                email = (f"{rv.mailboxes[ring.member]}@{domain}" if office
                         else f"{business_mail[k % 6]}@{domain}")
                reg = reg_of(k // 7)
                user_data = (f'{ud}{reg}", "country": "{code}", "address": {addr}, '
                             f'"email": "{email}", "phone": "{phone}", "industry": '
                             f'{industries[k // 7 % 12]}, "website": "https://www.{domain}"}}')
            else:
                name, jname, local, ud = persons[k % len(persons)]
                email = f"{local}{k % 997}@{cp.mail_providers[k % len(cp.mail_providers)]}"
                reg = ""
                user_data = (f'{ud}{dobs[k % n_dobs]}", "nationality": "{code}", '
                             f'"address": {addr}, "email": "{email}", "phone": "{phone}", '
                             f'"occupation": {occupations[k // 7 % 12]}}}')
            ent_rows.append((eid, kind, name, email, phone, code, reg))
            value = email_value(email)
            if value:
                key((case_id, EMAIL, stored(value), email))
            value = phone_value(phone, code)
            if value:
                key((case_id, PHONE, value, phone))
            value = registration_value(reg, code) if business else None
            if value:
                key((case_id, REGISTRATION, value, reg))
            key((case_id, ADDRESS, address_key, address))
            if not business:
                born = dobs[k % n_dobs]
                key((case_id, PERSON, f"{person_key[name]}|{born}", f"{name}, born {born}"))

            # time line: created -> collection, processes, reviews -> status change -> update
            if moved:
                active = 86400.0 * (1 + r() * 20)
                if active > age:
                    active = age
                changed = created + active * (0.3 + 0.6 * r())
            else:
                changed = created
            updated = changed + (now_s - changed) * 0.1 * r()
            c_s, ch_s, up_s = ts(created), ts(changed), ts(updated)
            if n_rev and (decision is not None or r() < assign_p):
                assignee = reviewer = reviewers[k % n_rev]
                version += 1
            else:
                assignee = None
                reviewer = reviewers[k % n_rev] if n_rev else FALLBACK_REVIEWER
            registry_data = (f'{{"source": {cp.registry_j}, "company_name": {jname}, '
                             f'"registration_number": "{reg}", "status": "Live", '
                             f'"incorporated_on": "{inc_dates[k % 1920]}", '
                             f'"registered_address": {addr}}}') if has_registry else "{}"
            enriched = enriched_pool[k % 312] if screened and k % 5 < 3 else None
            tags = monitoring_tags if workflow == "ongoing_monitoring" and k % 3 == 0 \
                else tag_sets[k % n_tags]
            reason = decided_at = decided_by = None
            if decision is not None:
                decided_by, decided_at = reviewer, ch_s
                if asked:
                    dec_rows.append((decid, case_id, "ask_for_reuploads", None, reviewer,
                                     ts(created + (changed - created) * 0.5)))
                    decid += 1
                if action == "approve":
                    reason = approve_reasons[k % 7]
                else:
                    reason = reject_reasons[k % 8]
                dec_rows.append((decid, case_id, action, reason, reviewer, ch_s))
                decid += 1
            elif asked:
                dec_rows.append((decid, case_id, "ask_for_reuploads",
                                 REVISION_REASONS[k % 3], reviewer, ch_s))
                decid += 1
            sla = slas.get((workflow, status))  # due_at: the SLA from status_changed_at
            due = (None if sla is None else ts(changed + sla * 3600.0) if type(sla) is float
                   else f"{due_at(origin + timedelta(seconds=changed), sla):%Y-%m-%d %H:%M:%S.%f}")
            case_rows.append((case_id, workflow, eid, status, collected, decision, reason,
                              decided_by, decided_at, assignee, risk_lo + k % risk_span, tags,
                              user_data, registry_data, enriched, c_s, up_s, ch_s, version, due,
                              name, code, kind))
            eid += 1

            for pname, pstate, detail, pending in procs:
                proc_rows.append((pid, case_id, pname, pstate, detail, c_s if pending else ch_s))
                pid += 1

            first_ubo = uid
            if ubos:
                people = set()
                share = 100.0
                last = len(ubos) - 1
                for j, (kyc_state, outcome, block, ureason, score) in enumerate(ubos):
                    x = r()
                    ucode, ucp = (code, cp) if x < 0.8 else slots[int(x * 1e6) % n_slots][:2]
                    upersons = ucp.persons
                    uname, _, ulocal = upersons[int(x * 1e9) % len(upersons)]
                    born = dobs[int(x * 1e7) % n_dobs]
                    if j == 0 and ring is not None and ring.role == OWNER:
                        uname, born, ucode = rv.owner_name, rv.owner_born, RING_COUNTRY
                    value = f"{person_key[uname]}|{born}"
                    if value not in people:
                        people.add(value)
                        key((case_id, PERSON, value, f"{uname}, born {born}"))
                    if j == last:
                        pct = round(share, 1)
                    else:
                        pct = round(share * (0.35 + 0.4 * x), 1)
                        share -= pct
                    result = (f'{kyc_prefix[outcome][j & 3]}{score + x * 0.14:.2f}, '
                              f'"session_id": "{k + j:x}"}}') if outcome else None
                    ubo_rows.append((uid, case_id, uname, f"{ulocal}{j}@{ucp.mail_providers[0]}",
                                     born, ucode, pct, kyc_state, result,
                                     block, ureason, reviewer if block else None,
                                     up_s if block else None))
                    uid += 1

            for dt, block, dreason, reviewed, two_versions, ubo_index, pool in docs:
                x = int(r() * 1e12)
                if dt == "passport" or dt == "identity_card":
                    holder = jname if ubo_index is None else _j(
                        ubo_rows[len(ubo_rows) - (uid - first_ubo) + ubo_index][2])
                    props = (f'{{"document_number": "{"KEGHPZ"[x % 6]}{x % 10_000_000:07d}", '
                             f'"issuing_country": "{code}", "holder": {holder}, '
                             f'"expiry_date": "{expiries[x % 432]}"}}')
                elif dt == "proof_of_address":
                    props = (f'{{"issuer": "{UTILITIES[x % 10]}", "issued_on": "{c_s[:8]}01", '
                             f'"address": {addr}}}')
                elif dt == "bank_statement":
                    props = (f'{{"bank": "{BANKS[x % 12]}", "period": "{c_s[:7]}", '
                             f'"account_last4": "{x % 10000:04d}"}}')
                elif dt == "annual_report":
                    props = f'{{"fiscal_year": {2024 + x % 2}, "auditor": "{AUDITORS[x % 6]}"}}'
                else:
                    props = (f'{{"company_name": {jname}, "registration_number": "{reg}", '
                             f'"issued_by": {cp.registry_j}}}')
                doc_rows.append((did, case_id, None if ubo_index is None else first_ubo + ubo_index,
                                 dt, props, block, dreason, reviewer if reviewed else None,
                                 up_s if reviewed else None))
                f1, _, sha = pool[x % len(pool)]
                if ring is not None and ring.role == FILE and dt == "proof_of_address" \
                        and self.ring_file:
                    f1, sha = self.ring_file  # the re-used file: the only keyed one
                    key((case_id, DOCUMENT, sha, f"{f1} (SHA-256 {sha[:12]}…)"))
                file_rows.append((fid, did, 1, f1, sha, c_s, "applicant"))
                fid += 1
                if two_versions:
                    _, f2, sha2 = pool[(x >> 8) % len(pool)]
                    file_rows.append((fid, did, 2, f2, sha2,
                                      ts(created + (changed - created) * 0.6), "applicant"))
                    fid += 1
                did += 1

            if with_audit:
                audit_rows.append((aid, case_id, c_s, "system", "case.imported", None,
                                   f'{{"workflow": "{workflow}", "entity": {jname}, '
                                   f'"status": "{status}"}}'))
                aid += 1
                if assignee:
                    audit_rows.append((aid, case_id, ts(created + (changed - created) * 0.2),
                                       assignee, "case.assigned", None,
                                       f'{{"assignee": "{assignee}"}}'))
                    aid += 1
                if status != "collection_flow":
                    audit_rows.append((aid, case_id, ch_s, reviewer if decision else "system",
                                       "case.status_changed", '{"status": "collection_flow"}',
                                       f'{{"status": "{status}"}}'))
                    aid += 1
                if decision:
                    audit_rows.append((aid, case_id, ch_s, reviewer, f"case.{decision}",
                                       '{"status": "manual_review"}', _j({"reason": reason})))
                    aid += 1
        nid.update(entities=eid, ubos=uid, documents=did, document_files=fid, processes=pid,
                   decisions=decid, audit_events=aid)
        subject_keys, audit_rows = sealed_audit_rows(audit_rows, self.now_text)
        return {"entities": ent_rows, "cases": case_rows, "ubos": ubo_rows, "documents": doc_rows,
                "document_files": file_rows, "processes": proc_rows, "decisions": dec_rows,
                "audit_subject_keys": subject_keys, "audit_events": audit_rows,
                "case_keys": key_rows}

