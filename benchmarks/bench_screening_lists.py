"""Loading a big screening list (docs/PERFORMANCE.md, "Built-in screener: loading lists").

Generates a fictional OpenSanctions `targets.simple.csv` of --entries entries (people and
companies, aliases in Latin, Cyrillic, Arabic and Chinese script, birth dates, countries,
programmes; seeded, so every run reads the same file) and --cases bare cases, then times on
a fresh database:

- parsing and checking the file alone (core/screening/list_files.py);
- the first load (every entry inserted; every case queued for rescreening);
- a reload with 1% of the entries changed, 0.5% removed and 0.5% new;
- the same file again (nothing written);
- reading every current entry back as the matcher does (`iter_current_entries`).

Prints seconds per step, the file's size and the process's peak memory.

    python benchmarks/bench_screening_lists.py                       # SQLite, 250,000 entries
    python benchmarks/bench_screening_lists.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import throwaway_schema  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from core.screening.list_files import OS_COLUMNS, parse_list_file  # noqa: E402
from core.screening.lists import iter_current_entries, load_list  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Case, Entity, utcnow  # noqa: E402
from core.workflows.definitions import ensure_default_workflows  # noqa: E402

GIVEN = ("Anna", "Boris", "Chen", "Dmitri", "Elena", "Farid", "Grace", "Hassan", "Ivan",
         "Jamal", "Kenji", "Layla", "Mohammed", "Nadia", "Omar", "Pavel", "Qiang", "Rania",
         "Sergei", "Tariq", "Wei", "Yusuf", "Zhanna", "Ahmed", "Olga", "Li", "Maria")
FAMILY = ("Volkov", "Petrova", "Haddad", "Al-Rashid", "Zhang", "Kovalenko", "Nasser",
          "Sokolov", "Wang", "Ibrahim", "Morozov", "Liu", "Karimi", "Orlov", "Mansour",
          "Chen", "Hussein", "Novak", "Rahimi", "Kuznetsova", "Saleh", "Yilmaz", "Fedorov")
CYRILLIC = ("Иван", "Ольга", "Сергей", "Волков", "Петрова", "Соколов")
ARABIC = ("محمد", "عمر", "حداد", "ناصر", "منصور", "إبراهيم")
CHINESE = ("王伟", "张敏", "刘洋", "陈杰", "李娜", "赵磊")
ORG_WORDS = ("Northern", "Star", "Caspian", "Golden", "Horizon", "Pacific", "Trading",
             "Shipping", "Holding", "Energy", "Petro", "Logistics", "Capital", "Industrial")
ORG_FORMS = ("LLC", "Ltd", "OOO", "JSC", "Co., Ltd.", "FZE", "GmbH", "S.A.")
PROGRAMMES = ("DEMO-RUS", "DEMO-IRAN", "DEMO-DPRK", "DEMO-TERR", "DEMO-CYBER", "DEMO-NARC")
COUNTRIES = ("ru", "ir", "kp", "sy", "cn", "ae", "by", "ve", "iq", "ye")


def entry(rng: random.Random, i: int, version: int = 0) -> list[str]:
    person = rng.random() < 0.7
    if person:
        name = f"{rng.choice(GIVEN)} {rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        aliases = [f"{rng.choice(FAMILY).upper()}, {rng.choice(GIVEN)}",
                   f"{rng.choice(CYRILLIC)} {rng.choice(CYRILLIC)}",
                   f"{rng.choice(ARABIC)} {rng.choice(ARABIC)}", rng.choice(CHINESE)]
        born = [f"{rng.randint(1940, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
    else:
        name = (f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_WORDS)} {rng.choice(ORG_WORDS)} "
                f"{rng.choice(ORG_FORMS)}")
        aliases, born = [f"{name.split()[0]} {rng.choice(ORG_FORMS)}"], []
    if version:
        name += f" {version}"  # a changed entry
    countries = sorted(set(rng.sample(COUNTRIES, rng.randint(1, 2))))
    programme = rng.choice(PROGRAMMES)

    def multi(values):
        out = io.StringIO()
        csv.writer(out, delimiter=";", lineterminator="").writerow(values)
        return out.getvalue()

    return [f"bench-{i:07d}", "Person" if person else "Company", name, multi(aliases),
            multi(born), multi(countries), "", "", f"{programme} - fictional", "", "",
            programme, "Bench list", "2024-01-01", "2026-01-01", "2025-01-01"]


def list_file(n: int, *, changed=frozenset(), removed=frozenset(), added: int = 0) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, dialect=csv.unix_dialect)
    w.writerow(OS_COLUMNS)
    for i in range(n + added):
        rng = random.Random(i)  # the same entry in every file, unless changed
        if i in removed:
            continue
        w.writerow(entry(rng, i, version=2 if i in changed else 0))
    return out.getvalue().encode("utf-8")


def bare_cases(db: Database, n: int) -> None:
    with db.unit_of_work() as s:
        e = Entity(kind="business", name="Bench Ltd", country="HK")
        s.add(e)
        s.flush()
        now = utcnow()
        for start in range(0, n, 10_000):
            s.execute(insert(Case.__table__), [
                {"id": f"B-{i:07d}", "workflow": "onboarding", "entity_id": e.id,
                 "case_status": "manual_review", "collection_completed": True, "tags": [],
                 "user_data": {}, "registry_data": {}, "created_at": now, "updated_at": now,
                 "status_changed_at": now, "version": 1}
                for i in range(start, min(n, start + 10_000))])


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"  {label:<44} {time.perf_counter() - started:7.2f} s", flush=True)
    return result


def run(url: str, entries: int, cases: int) -> None:
    db = Database(url)
    db.upgrade_schema()
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    timed(f"seed {cases:,} bare cases (untimed setup)", lambda: bare_cases(db, cases))
    first = list_file(entries)
    rng = random.Random(7)
    picked = rng.sample(range(entries), entries // 50)
    changed, removed = frozenset(picked[: entries // 100]), frozenset(picked[entries // 100:])
    second = list_file(entries, changed=changed, removed=removed, added=entries // 200)
    print(f"  file: {len(first) / 2**20:.1f} MB, {entries:,} entries")
    timed("parse and check the file", lambda: parse_list_file(first, "opensanctions"))
    r = timed("first load (insert all, queue every case)",
              lambda: load_list(db, "bench", first, fmt="opensanctions", actor="system"))
    print(f"    {r.sentence()}")
    r = timed("reload: 1% changed, 0.5% removed, 0.5% new",
              lambda: load_list(db, "bench", second, fmt="opensanctions", actor="system"))
    print(f"    {r.sentence()}")
    r = timed("the same file again",
              lambda: load_list(db, "bench", second, fmt="opensanctions", actor="system"))
    print(f"    {r.sentence()}")
    n = timed("read every current entry (iter_current_entries)",
              lambda: sum(1 for _ in iter_current_entries(db)))
    print(f"    {n:,} entries read")
    db.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entries", type=int, default=250_000)
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--database-url", help="a PostgreSQL server (a throwaway schema is used); "
                                          "default: a temporary SQLite file")
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if args.database_url:
        with throwaway_schema(args.database_url) as url:
            print(f"PostgreSQL ({args.database_url})")
            run(url, args.entries, args.cases)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite (a temporary file)")
            run(f"sqlite:///{tmp}/bench.sqlite3", args.entries, args.cases)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) {peak:,.0f} MB; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
