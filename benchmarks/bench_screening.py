"""The built-in screener's matcher at list scale (docs/PERFORMANCE.md, "Built-in screener:
matching").

Generates a fictional list (default 250,000 entries: persons, organisations, vessels; names
drawn with a long tail from pools of many cultures so that common given names and surnames
are shared by thousands of entries; aliases in other spellings, word orders and scripts:
Cyrillic, Arabic, Han), builds `ScreeningIndex` on it (time; RSS before and after; the
Python heap by tracemalloc on a second build), then times `match` for 1,000+ queries: names
on the list written another way (typo, word order, missing middle name, initial, other
script, case), names not on it, and very common names; p50/p95/p99 per query, with the load
average. For comparison, a naive scan: rapidfuzz's `process.extract` over every name of the
list (token sort ratio), for a sample of the same queries.

    python benchmarks/bench_screening.py
    python benchmarks/bench_screening.py --entries 50000 --queries 300 --naive 30
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz, process  # noqa: E402

from core.screening.matching import (  # noqa: E402
    DEFAULT_THRESHOLD,
    ListEntry,
    Query,
    ScreeningIndex,
)
from core.screening.names import source_symbols  # noqa: E402

COMMON_GIVEN = ["Mohammed", "Muhammad", "Mohamed", "Ahmed", "Ali", "Hassan", "Hussein",
                "Omar", "Abdullah", "Ibrahim", "Youssef", "Khaled", "Mustafa", "Fatima",
                "John", "James", "Michael", "David", "Robert", "William", "Maria", "Anna",
                "Elena", "Olga", "Sergey", "Alexander", "Dmitry", "Andrey", "Vladimir",
                "Ivan", "Wei", "Li", "Jun", "Ming", "Jose", "Juan", "Carlos", "Luis", "Ana",
                "Ramesh", "Rajesh", "Priya", "Kwame", "Amina", "Mamadou", "Reza", "Mehdi",
                "Hiroshi", "Min-jun", "Nguyen Van", "Georgios", "Mehmet", "Mustafa", "Peter"]
COMMON_FAMILY = ["Smith", "Johnson", "Brown", "Ivanov", "Petrov", "Smirnov", "Kuznetsov",
                 "Popov", "Wang", "Li", "Zhang", "Liu", "Chen", "Nguyen", "Tran", "Kim",
                 "Park", "Garcia", "Rodriguez", "Martinez", "Lopez", "Hernandez", "Silva",
                 "Santos", "Hassan", "Ali", "Khan", "Ahmed", "Al-Masri", "Haddad", "Mansour",
                 "Hosseini", "Mousavi", "Sharma", "Patel", "Singh", "Kumar", "Mensah",
                 "Okafor", "Diallo", "Yilmaz", "Kaya", "Demir", "Muller", "Schmidt",
                 "Papadopoulos", "Kowalski", "Nowak", "Sato", "Suzuki"]
SYLLABLES = ["ka", "ra", "mo", "li", "ne", "to", "sa", "vi", "do", "ge", "ba", "lu", "mi",
             "ta", "zo", "ri", "ha", "po", "fe", "ni", "ko", "da", "sha", "an", "el", "or",
             "in", "us", "er", "ma", "be", "ju", "ye", "kh", "dr", "st", "ol", "ar", "em"]
SUFFIXES = ["ov", "ev", "in", "enko", "ski", "ez", "es", "son", "sen", "i", "ani", "ian",
            "oglu", "ovic", "escu", "idis", "opoulos", "ashvili", "", "", "man", "er", "a"]
BUSINESS = ["Trading", "Holdings", "Shipping", "Group", "Energy", "Logistics", "Petroleum",
            "Industries", "Investments", "Capital", "Construction", "Marine", "Resources",
            "International", "General Trading", "Technologies", "Metals", "Finance"]
LEGAL = ["LLC", "Ltd", "Limited", "GmbH", "AG", "SA", "JSC", "OOO", "Inc", "Corp", "FZE",
         "BV", "PLC", "Co., Ltd.", "SARL", "Joint Stock Company", ""]
CYRILLIC = dict(zip("abvgdezijklmnoprstufhcy", "абвгдезийклмнопрстуфхцы"))
ARABIC = {"Mohammed": "محمد", "Muhammad": "محمد", "Ahmed": "أحمد", "Ali": "علي",
          "Hassan": "حسن", "Hussein": "حسين", "Omar": "عمر", "Ibrahim": "إبراهيم",
          "Khaled": "خالد", "Youssef": "يوسف", "Fatima": "فاطمة", "Mansour": "منصور",
          "Haddad": "حداد", "Abdullah": "عبد الله", "Mustafa": "مصطفى"}
HAN = {"Wang": "王", "Li": "李", "Zhang": "张", "Liu": "刘", "Chen": "陈", "Wei": "伟",
       "Jun": "军", "Ming": "明"}


class ListMaker:
    """Draws fictional names with a long tail (Zipf-like weights): a few very common
    words, many rare ones."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.given = COMMON_GIVEN + self.shuffled({self.word() for _ in range(4000)})
        self.family = COMMON_FAMILY + self.shuffled({self.word() + self.rng.choice(SUFFIXES)
                                                     for _ in range(60000)})
        self.cores = self.shuffled({self.word() for _ in range(20000)})
        self.given_weights = self.zipf(len(self.given), 0.9)
        self.family_weights = self.zipf(len(self.family), 0.9)
        self.core_weights = self.zipf(len(self.cores), 0.6)

    def shuffled(self, words: set[str]) -> list[str]:
        out = sorted(words)
        self.rng.shuffle(out)
        return out

    def zipf(self, size: int, exponent: float) -> list[float]:
        """Cumulative weights 1/rank^exponent: the first words are drawn most often."""
        total, out = 0.0, []
        for rank in range(1, size + 1):
            total += 1 / rank ** exponent
            out.append(total)
        return out

    def word(self) -> str:
        return "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3))) \
            .capitalize()

    def draw(self, pool: list[str], weights: list[float]) -> str:
        return self.rng.choices(pool, cum_weights=weights)[0]

    def person(self) -> tuple[str, str, str | None]:
        given = self.draw(self.given, self.given_weights)
        family = self.draw(self.family, self.family_weights)
        middle = self.draw(self.given, self.given_weights) if self.rng.random() < 0.3 else None
        return given, family, middle

    def person_entry(self, key: int) -> ListEntry:
        given, family, middle = self.person()
        name = " ".join(p for p in (given, middle, family) if p)
        aliases = []
        if self.rng.random() < 0.4:
            for _ in range(self.rng.randint(1, 3)):
                kind = self.rng.random()
                if kind < 0.3:
                    aliases.append(f"{family.upper()}, {given}")
                elif kind < 0.5:
                    aliases.append(f"{given} {family}")
                elif kind < 0.7 and family.lower().endswith(("ov", "ev", "in", "a")):
                    aliases.append(self.cyrillic(f"{given} {family}"))
                elif kind < 0.8 and given in ARABIC and family in ARABIC:
                    aliases.append(f"{ARABIC[given]} {ARABIC[family]}")
                elif kind < 0.85 and family in HAN:
                    aliases.append(HAN[family] + HAN.get(given, "明"))
                else:
                    aliases.append(self.respell(name))
        year = self.rng.randint(1940, 2000)
        dates = () if self.rng.random() < 0.3 else (
            (f"{year}",) if self.rng.random() < 0.4 else
            (f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}",))
        return ListEntry(key, "bench", "Bench list", f"P-{key}", "person", name,
                         tuple(dict.fromkeys(aliases)), dates,
                         (self.rng.choice(["RU", "IR", "SY", "CN", "AE", "NG", "GB", "US"]),))

    def org_entry(self, key: int, schema: str = "organization") -> ListEntry:
        core = self.draw(self.cores, self.core_weights)
        if self.rng.random() < 0.4:
            core += " " + self.draw(self.cores, self.core_weights)
        if schema == "other":
            return ListEntry(key, "bench", "Bench list", f"V-{key}", "other", f"MV {core}")
        name = " ".join(p for p in (core, self.rng.choice(BUSINESS) if self.rng.random() < 0.6
                                    else "", self.rng.choice(LEGAL)) if p)
        aliases = ()
        if self.rng.random() < 0.2:
            aliases = (self.cyrillic(core) + " ООО",) if self.rng.random() < 0.5 else \
                (f"{core} {self.rng.choice(LEGAL)}".strip(),)
        return ListEntry(key, "bench", "Bench list", f"O-{key}", schema, name, aliases)

    def cyrillic(self, text: str) -> str:
        return "".join(CYRILLIC.get(c, CYRILLIC.get(c.lower(), c).upper() if c.isupper()
                                    else CYRILLIC.get(c, c)) for c in text)

    def respell(self, name: str) -> str:
        swaps = [("ov", "ow"), ("y", "i"), ("ph", "f"), ("kh", "h"), ("ou", "u"), ("ee", "i"),
                 ("ck", "k"), ("j", "y"), ("sh", "sch"), ("e", "a")]
        for old, new in self.rng.sample(swaps, len(swaps)):
            if old in name:
                return name.replace(old, new, 1)
        return typo(self.rng, name)

    def entries(self, count: int) -> list[ListEntry]:
        out = []
        for key in range(1, count + 1):
            roll = self.rng.random()
            if roll < 0.7:
                out.append(self.person_entry(key))
            elif roll < 0.97:
                out.append(self.org_entry(key))
            else:
                out.append(self.org_entry(key, "other"))
        return out


def typo(rng: random.Random, text: str) -> str:
    """One slip in one word of five letters or more (or the text as it is)."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    w, at = words[i], rng.randint(1, len(words[i]) - 2)
    words[i] = rng.choice([w[:at] + w[at + 1] + w[at] + w[at + 2:], w[:at] + w[at + 1:],
                           w[:at] + w[at] + w[at:]])
    return " ".join(words)


def queries(maker: ListMaker, entries: list[ListEntry], count: int,
            seed: int) -> list[tuple[str, Query, int | None]]:
    """(kind, query, the key of the entry it varies or None): 45% names on the list written
    another way, 40% names not on it, 15% very common names."""
    rng = random.Random(seed)
    family_set = set(maker.family)
    out: list[tuple[str, Query, int | None]] = []
    common = ["Mohammed Ali", "John Smith", "Wang Wei", "Maria Garcia", "Ali Hassan",
              "Ahmed Mohamed", "Sergey Ivanov", "Li Wei", "Muhammad Khan", "Mohammed",
              "Hassan", "Ivanov", "Maria Rodriguez", "Jose Martinez", "Kim Min-jun"]
    common_orgs = ["Global Trading LLC", "International Holding Group", "General Trading",
                   "Energy Ltd", "Marine Shipping Co"]
    while len(out) < count:
        roll = rng.random()
        if roll < 0.45:
            entry = rng.choice(entries)
            name = entry.name if not entry.aliases or rng.random() < 0.7 else \
                rng.choice(entry.aliases)
            words = name.replace(",", "").split()
            how = rng.choice(["typo", "order", "drop", "initial", "case", "same"])
            if how == "typo":
                name = typo(rng, name)
            elif how == "order" and len(words) > 1:
                name = " ".join(words[1:] + words[:1])
            elif how == "drop" and len(words) > 2:
                name = " ".join(words[:1] + words[2:])
            elif how == "initial" and len(words) > 1 and entry.schema == "person":
                name = f"{words[0][0]}. {' '.join(words[1:])}"
            elif how == "case":
                name = name.upper()
            schema = "person" if entry.schema == "person" else "organization"
            date = entry.birth_dates[0] if entry.birth_dates and len(entry.birth_dates[0]) == 10 \
                and rng.random() < 0.5 else ""
            out.append(("on the list", Query(name, date, schema=schema), entry.key))
        elif roll < 0.85:
            given = maker.draw(maker.given, maker.given_weights)
            family = maker.word() + rng.choice(SUFFIXES)
            if family in family_set:
                continue
            if rng.random() < 0.75:
                out.append(("not on the list", Query(f"{given} {family}", schema="person"),
                            None))
            else:
                out.append(("not on the list", Query(f"{family} {rng.choice(BUSINESS)} "
                                                     f"{rng.choice(LEGAL)}".strip(),
                                                     schema="organization"), None))
        else:
            if rng.random() < 0.75:
                out.append(("common name", Query(rng.choice(common), schema="person"), None))
            else:
                out.append(("common name", Query(rng.choice(common_orgs),
                                                 schema="organization"), None))
    return out


def on_list_outcome(query: Query, entry: ListEntry, result: list) -> str:
    """What became of a name on the list written another way: returned; scoring below the
    threshold on its own (a one-entry index: the variation changed the name too much);
    left out behind 50 candidates scoring at least as much (the limit, ties); or missed by
    the index's retrieval."""
    if any(c.entry.key == entry.key for c in result):
        return "returned"
    alone = ScreeningIndex.build([entry]).match(query, threshold=0)
    own = alone[0].score if alone else 0
    if own < DEFAULT_THRESHOLD:
        return "below the threshold alone"
    if len(result) == 50 and result[-1].score >= own:
        return "behind 50 as good"
    return "missed by retrieval"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]
    return (f"n={len(ordered)} p50 {at(0.50):.1f} ms, p95 {at(0.95):.1f} ms, "
            f"p99 {at(0.99):.1f} ms, max {ordered[-1]:.1f} ms, "
            f"mean {statistics.mean(ordered):.1f} ms")


def load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=250_000)
    parser.add_argument("--queries", type=int, default=1200)
    parser.add_argument("--naive", type=int, default=100, help="queries for the naive scan")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, {load()}")

    started = time.perf_counter()
    before = rss_mb()
    source_symbols("warm")   # builds rigour's name tagger (its data: given names, symbols)
    print(f"rigour's name tagger set-up (once per process): "
          f"{time.perf_counter() - started:.1f} s, RSS +{rss_mb() - before:.0f} MB")

    maker = ListMaker(args.seed)
    before_list = rss_mb()
    entries = maker.entries(args.entries)
    names = sum(1 + len(e.aliases) for e in entries)
    print(f"list: {len(entries):,} entries, {names:,} names "
          f"(RSS +{rss_mb() - before_list:.0f} MB for the entries themselves)")

    before = rss_mb()
    started = time.perf_counter()
    index = ScreeningIndex.build(entries)
    built = time.perf_counter() - started
    after = rss_mb()
    print(f"build: {built:.1f} s; RSS {before:.0f} MB -> {after:.0f} MB "
          f"(+{after - before:.0f} MB)")

    tracemalloc.start()
    second = ScreeningIndex.build(entries)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"tracemalloc over a second build: {current / 2**20:.0f} MB held by the index "
          f"(Python heap; numpy arrays included), peak {peak / 2**20:.0f} MB")
    del second

    work = queries(maker, entries, args.queries, args.seed + 1)
    for _, query, _ in work[:20]:
        index.match(query)   # warm the per-query caches of rigour's word facts
    print(f"queries: {len(work)}, {load()}")
    times: dict[str, list[float]] = {}
    outcomes: dict[str, int] = {}
    scored = []
    by_key = {e.key: e for e in entries}
    for kind, query, key in work:
        started = time.perf_counter()
        result = index.match(query)
        elapsed = (time.perf_counter() - started) * 1000
        times.setdefault(kind, []).append(elapsed)
        scored.append(index.last_stats.scored_names)
        if key is not None:
            outcome = on_list_outcome(query, by_key[key], result)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    every = [t for ts in times.values() for t in ts]
    print(f"match, all: {percentiles(every)}")
    for kind, ts in times.items():
        print(f"  {kind}: {percentiles(ts)}")
    print(f"names given the full comparison per query: mean {statistics.mean(scored):.0f}, "
          f"max {max(scored)} (of {names:,})")
    print(f"names on the list written another way (threshold {DEFAULT_THRESHOLD}, limit 50): "
          + ", ".join(f"{kind} {count}" for kind, count in sorted(outcomes.items())))
    print(f"after the queries: {load()}")

    all_names = [n for e in entries for n in (e.name, *e.aliases)]
    sample = work[:: max(1, len(work) // max(args.naive, 1))][:args.naive]
    naive = []
    for _, query, _ in sample:
        started = time.perf_counter()
        process.extract(query.name, all_names, scorer=fuzz.token_sort_ratio,
                        score_cutoff=DEFAULT_THRESHOLD, limit=50)
        naive.append((time.perf_counter() - started) * 1000)
    print(f"naive scan (rapidfuzz token_sort_ratio over all {len(all_names):,} names): "
          f"{percentiles(naive)}; {load()}")


if __name__ == "__main__":
    main()
