"""Realistic demo cases, bulk-inserted fast enough for a million-case benchmark.

Why it exists: the demo mode needs a populated dashboard on first start, and the list,
count and search queries need a big database to be measured against. Cases are built from
a few thousand *templates* (block, process and UBO states drawn per intended stage); each
template's status is derived once with `core.cases.status.derive_case_status`, so every
stored `case_status` equals the status its facts give. Names, dates, numbers and people
vary per case. Rows go in as precomputed tuples through the DBAPI (`executemany` on
SQLite, `COPY ... FROM STDIN` on PostgreSQL) in one transaction; document files come from
a small pool of generated images and PDFs stored once in `file_blobs`.

Speed (a million cases in well under two minutes): ids are assigned here; a big load drops
the secondary indexes, foreign keys (checks) and SQLite's FTS triggers, then rebuilds them
from the catalog's own definitions; the `case_counts` triggers are dropped (SQLite) or
disabled (PostgreSQL) too and the table recounted with one INSERT ... SELECT ... GROUP BY; from `PARALLEL_MIN_CASES` a child Python process builds
the next batch of rows while this one inserts the current one.
"""
from __future__ import annotations

import bisect
import hashlib
import io
import json
import logging
import os
import pickle
import random
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import select

from core.access.users import ensure_demo_users
from core.cases.state import facts_from
from core.cases.status import CaseFacts, CaseStatus, derive_case_status
from core.store.db import Database
from core.store.models import Case, User, utcnow
from core.workflows.definitions import ensure_default_workflows
from core.worklist.views import ensure_default_views

Progress = Callable[[int, int], None]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)

DEMO_TAG = "demo"
DEMO_SEED = 20240601
BATCH_CASES = 25_000
BULK_MIN_CASES = 5_000
PARALLEL_MIN_CASES = 100_000  # from this size a child process builds the rows  # from this size (and >= existing entities) a load rebuilds indexes
FALLBACK_REVIEWER = "demo.reviewer"  # decided_by when the database has no reviewer yet
HISTORY_DAYS = 180

# The three FTS5 triggers of migration 0001, verbatim (a test compares them with the
# migrated schema). A big load drops them, fills the index in one statement, recreates them.
SQLITE_FTS_TRIGGERS: dict[str, str] = {
    "entities_ai": (
        "CREATE TRIGGER entities_ai AFTER INSERT ON entities BEGIN "
        "INSERT INTO entity_search(rowid, name, email, registration_number) "
        "VALUES (new.id, new.name, new.email, new.registration_number); END"),
    "entities_ad": (
        "CREATE TRIGGER entities_ad AFTER DELETE ON entities BEGIN "
        "INSERT INTO entity_search(entity_search, rowid, name, email, registration_number) "
        "VALUES ('delete', old.id, old.name, old.email, old.registration_number); END"),
    "entities_au": (
        "CREATE TRIGGER entities_au AFTER UPDATE ON entities BEGIN "
        "INSERT INTO entity_search(entity_search, rowid, name, email, registration_number) "
        "VALUES ('delete', old.id, old.name, old.email, old.registration_number); "
        "INSERT INTO entity_search(rowid, name, email, registration_number) "
        "VALUES (new.id, new.name, new.email, new.registration_number); END"),
}

# The `case_counts` triggers of migration 0003 (names start with this). A big load drops
# (SQLite) / disables (PostgreSQL) them and recounts the table in one statement at the end;
# SQLite recreates them from their own `sqlite_master` text, so nothing is copied here.
CASE_COUNTS_TRIGGER_PREFIX = "case_counts_"
CASE_COUNTS_RECOUNT = (
    "INSERT INTO case_counts (workflow, case_status, country, kind, assigned, n) "
    "SELECT c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
    "c.assignee IS NOT NULL, count(*) FROM cases c LEFT JOIN entities e ON e.id = c.entity_id "
    "GROUP BY c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
    "c.assignee IS NOT NULL")

# --------------------------------------------------------------------------------------
# Reference data: countries, names, numbers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    weight: int
    phone: str                  # format with random digits: {a} 4 digits, {b} 4 digits
    tld: str
    registry: str
    company_prefixes: tuple[str, ...]
    company_cores: tuple[str, ...]
    company_suffixes: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    mail_providers: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]


_CORES_EN = ("Trading", "Holdings", "Logistics", "Investment", "Capital", "Technology",
             "Electronics", "Shipping", "Properties", "Import & Export", "Consulting",
             "Payments", "Digital", "Healthcare", "Foods")

COUNTRIES: tuple[Country, ...] = (
    Country("HK", "Hong Kong", 20, "+852 {a4} {b4}", "com.hk", "HK Companies Registry",
            ("Golden Dragon", "Pacific Harbour", "Victoria Peak", "Kowloon Bay", "Jade Phoenix",
             "Harbour City", "Lucky Star", "Evergreen Pearl", "Silver Bauhinia", "Tai Ping",
             "Wing On", "Sun Hing", "Kam Lung", "Fook Tai", "Ocean Pearl", "Lion Rock",
             "Man Fung", "Cheung Kong", "Tsim Sha Tsui", "Hang Seng"),
            _CORES_EN + ("Textiles", "Garments", "Jewellery", "Finance"),
            ("Limited", "Company Limited", "(HK) Limited", "International Limited",
             "Holdings Limited"),
            ("Ka Wai", "Wing Yan", "Chi Ming", "Siu Fung", "Mei Ling", "Tsz Hin", "Hoi Yan",
             "Kwok Wah", "Man Kit", "Suet Ying", "Michael", "Winnie", "Kelvin", "Cherry",
             "Eric", "Ivy", "Raymond", "Karen", "Jason", "Queenie"),
            ("Chan", "Wong", "Lee", "Cheung", "Lau", "Ng", "Ho", "Leung", "Tsang", "Yip",
             "Chow", "Kwok", "Lam", "Tang", "Fung", "Mak", "Yeung", "Tse"),
            ("gmail.com", "yahoo.com.hk", "netvigator.com", "outlook.com", "hotmail.com"),
            ("Queen's Road Central", "Nathan Road", "Des Voeux Road", "Hennessy Road",
             "Canton Road", "Connaught Road", "Lockhart Road", "Kwun Tong Road"),
            ("Central", "Wan Chai", "Tsim Sha Tsui", "Mong Kok", "Causeway Bay", "Kwun Tong",
             "Sheung Wan", "Admiralty")),
    Country("CN", "China", 18, "+86 13{a1} {a4} {b4}", "cn", "SAMR National Enterprise Credit System",
            ("Shenzhen Huaxin", "Shanghai Zhongtian", "Beijing Hengda", "Guangzhou Jinlong",
             "Hangzhou Xinhua", "Suzhou Tianrui", "Chengdu Haoyun", "Wuhan Minsheng",
             "Xiamen Boya", "Ningbo Ruifeng", "Tianjin Dingsheng", "Dongguan Kaiyuan",
             "Shenzhen Longteng", "Shanghai Yuanxiang", "Beijing Zhiyuan", "Qingdao Haixin",
             "Nanjing Jiahe", "Foshan Meida"),
            ("Technology", "Trading", "Electronics", "Industrial", "Supply Chain Management",
             "Pharmaceutical", "New Energy", "Network Technology", "Import and Export",
             "Biotechnology", "Intelligent Equipment", "Logistics"),
            ("Co., Ltd.", "Group Co., Ltd.", "Industrial Co., Ltd.", "Holding Co., Ltd."),
            ("Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Jun", "Hui", "Tao", "Xiaoming",
             "Li Na", "Haoran", "Yuxuan", "Zihan", "Xinyi", "Jiahao", "Yiming", "Ruoxi"),
            ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
             "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin"),
            ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com"),
            ("Shennan Avenue", "Nanjing Road", "Chang'an Avenue", "Tianhe Road",
             "Wensan Road", "Renmin Road", "Zhongshan Road", "Jiefang Road"),
            ("Shenzhen", "Shanghai", "Beijing", "Guangzhou", "Hangzhou", "Suzhou", "Chengdu",
             "Xiamen")),
    Country("SG", "Singapore", 10, "+65 {c1}{a3} {b4}", "com.sg", "ACRA BizFile",
            ("Lion City", "Marina", "Raffles", "Orchard", "Temasek", "Straits", "Merlion",
             "Sentosa", "Jurong", "Tanjong", "Bukit", "Keppel"),
            _CORES_EN, ("Pte. Ltd.", "Private Limited", "Pte Ltd"),
            ("Wei Ling", "Jun Jie", "Siti", "Arjun", "Priya", "Hui Min", "Muhammad", "Rachel",
             "Darren", "Nurul", "Ravi", "Grace"),
            ("Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Koh", "Rahman", "Nair",
             "Kumar", "Teo", "Chong"),
            ("gmail.com", "singnet.com.sg", "outlook.com", "yahoo.com.sg"),
            ("Orchard Road", "Raffles Place", "Shenton Way", "Robinson Road", "Cecil Street",
             "Anson Road", "Tanjong Pagar Road"),
            ("Singapore",)),
    Country("GB", "United Kingdom", 9, "+44 20 7{a3} {b4}", "co.uk", "Companies House",
            ("Thames", "Albion", "Kensington", "Northgate", "Brightwater", "Oakridge", "Camden",
             "Mersey", "Pennine", "Windsor", "Highgate", "Blackfriars"),
            _CORES_EN, ("Ltd", "Limited", "PLC", "LLP"),
            ("Oliver", "Amelia", "George", "Isla", "Harry", "Emily", "Jack", "Sophie",
             "Thomas", "Charlotte", "William", "Grace"),
            ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Davies",
             "Hughes", "Clarke", "Walker", "Wright"),
            ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk"),
            ("High Street", "King's Road", "Baker Street", "Victoria Street", "Old Street",
             "Fleet Street", "Bishopsgate"),
            ("London", "Manchester", "Edinburgh", "Bristol", "Leeds")),
    Country("US", "United States", 9, "+1 {ac} 555 0{a3}", "com", "Delaware Division of Corporations",
            ("Liberty", "Summit", "Redwood", "Lakeshore", "Granite", "Golden Gate", "Blue Ridge",
             "Hudson", "Pioneer", "Cascade", "Lone Star", "Atlantic"),
            _CORES_EN, ("Inc.", "LLC", "Corp."),
            ("James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Mia", "Daniel",
             "Madison", "Michael", "Sarah"),
            ("Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson",
             "Thomas", "Moore", "Jackson", "Nguyen", "Kim"),
            ("gmail.com", "yahoo.com", "outlook.com", "icloud.com"),
            ("Market Street", "Broadway", "Main Street", "Madison Avenue", "Pine Street",
             "Mission Street", "Wall Street"),
            ("New York", "San Francisco", "Austin", "Miami", "Chicago", "Wilmington")),
    Country("DE", "Germany", 6, "+49 30 {a4}{b3}", "de", "Handelsregister",
            ("Rhein", "Alpen", "Nordstern", "Bergmann", "Schwarzwald", "Elbe", "Hansa",
             "Spree", "Isar", "Main"),
            ("Handels", "Logistik", "Technik", "Maschinenbau", "Software", "Beteiligungs",
             "Immobilien", "Energie"),
            ("GmbH", "AG", "GmbH & Co. KG", "UG"),
            ("Lukas", "Anna", "Felix", "Lea", "Jonas", "Hannah", "Maximilian", "Laura", "Paul",
             "Sophie"),
            ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
             "Hoffmann", "Schäfer"),
            ("gmx.de", "web.de", "t-online.de", "gmail.com"),
            ("Hauptstraße", "Friedrichstraße", "Königsallee", "Maximilianstraße",
             "Schillerstraße", "Bahnhofstraße"),
            ("Berlin", "München", "Hamburg", "Frankfurt am Main", "Düsseldorf")),
    Country("FR", "France", 5, "+33 1 {a2} {b2} {c2} {d2}", "fr", "Registre du commerce et des sociétés",
            ("Lumière", "Rivoli", "Provence", "Atlantique", "Bastille", "Loire", "Montmartre",
             "Azur", "Vendôme", "Garonne"),
            ("Conseil", "Distribution", "Technologies", "Finance", "Logistique", "Industries",
             "Immobilier", "Services"),
            ("SAS", "SARL", "SA"),
            ("Louis", "Camille", "Hugo", "Chloé", "Jules", "Léa", "Gabriel", "Manon", "Arthur",
             "Inès"),
            ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
             "Leroy", "Moreau"),
            ("orange.fr", "free.fr", "gmail.com", "laposte.net"),
            ("rue de Rivoli", "avenue des Champs-Élysées", "boulevard Haussmann",
             "rue du Faubourg Saint-Honoré", "rue de la République"),
            ("Paris", "Lyon", "Marseille", "Bordeaux", "Toulouse")),
    Country("AE", "United Arab Emirates", 5, "+971 4 {a3} {b4}", "ae", "Dubai DED / DMCC Registry",
            ("Al Noor", "Emirates", "Gulf Star", "Desert Rose", "Al Falah", "Palm", "Falcon",
             "Dubai Creek", "Al Reem", "Oasis"),
            _CORES_EN + ("General Trading",), ("LLC", "FZE", "FZCO", "DMCC"),
            ("Mohammed", "Fatima", "Ahmed", "Aisha", "Omar", "Mariam", "Khalid", "Noura",
             "Rashid", "Layla"),
            ("Al Mansoori", "Al Suwaidi", "Al Hashimi", "Khan", "Haddad", "Al Falasi",
             "Al Zaabi", "Qureshi"),
            ("gmail.com", "emirates.net.ae", "outlook.com", "yahoo.com"),
            ("Sheikh Zayed Road", "Al Wasl Road", "Jumeirah Lakes Towers", "Business Bay",
             "Al Maktoum Road"),
            ("Dubai", "Abu Dhabi", "Sharjah")),
    Country("CH", "Switzerland", 4, "+41 44 {a3} {b2} {c2}", "ch", "Zefix commercial register",
            ("Helvetia", "Alpine", "Matterhorn", "Léman", "Zürichsee", "Edelweiss", "Rigi",
             "Jungfrau"),
            ("Treuhand", "Capital", "Asset Management", "Trading", "Pharma", "Technologies"),
            ("AG", "SA", "GmbH", "Sàrl"),
            ("Luca", "Mia", "Noah", "Lina", "Elias", "Emma", "Matteo", "Laura"),
            ("Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Brunner", "Favre",
             "Rossi"),
            ("bluewin.ch", "gmail.com", "gmx.ch"),
            ("Bahnhofstrasse", "Rue du Rhône", "Paradeplatz", "Limmatquai"),
            ("Zürich", "Genève", "Basel", "Zug", "Lugano")),
    Country("NL", "Netherlands", 4, "+31 20 {a3} {b4}", "nl", "KVK Handelsregister",
            ("Oranje", "Delta", "Amstel", "Tulip", "Zuiderzee", "Windmolen", "Maas", "Noordzee"),
            ("Holding", "Trading", "Logistics", "Technology", "Investments", "Foods"),
            ("B.V.", "N.V."),
            ("Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Finn", "Sanne"),
            ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser",
             "Smit"),
            ("ziggo.nl", "kpnmail.nl", "gmail.com"),
            ("Keizersgracht", "Herengracht", "Damrak", "Coolsingel", "Zuidas"),
            ("Amsterdam", "Rotterdam", "Utrecht", "Den Haag")),
    Country("JP", "Japan", 3, "+81 3 {a4} {b4}", "co.jp", "Legal Affairs Bureau",
            ("Sakura", "Fuji", "Nippon", "Kansai", "Asahi", "Hikari", "Yamato", "Minato"),
            ("Trading", "Electronics", "Shoji", "Industries", "Logistics", "Technology"),
            ("K.K.", "Co., Ltd.", "Corporation"),
            ("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Takumi", "Sakura"),
            ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"),
            ("gmail.com", "yahoo.co.jp", "docomo.ne.jp"),
            ("Marunouchi", "Ginza", "Roppongi", "Shibuya", "Nihonbashi"),
            ("Tokyo", "Osaka", "Yokohama")),
    Country("AU", "Australia", 3, "+61 2 {a4} {b4}", "com.au", "ASIC Connect",
            ("Southern Cross", "Coral Sea", "Outback", "Harbourside", "Eucalyptus", "Bondi"),
            _CORES_EN, ("Pty Ltd", "Pty. Limited"),
            ("Jack", "Charlotte", "Oliver", "Matilda", "William", "Chloe", "Lachlan", "Zoe"),
            ("Smith", "Nguyen", "Williams", "Brown", "Wilson", "Kelly", "Ryan", "Campbell"),
            ("gmail.com", "bigpond.com", "outlook.com"),
            ("George Street", "Collins Street", "Pitt Street", "Queen Street"),
            ("Sydney", "Melbourne", "Brisbane", "Perth")),
    Country("IE", "Ireland", 2, "+353 1 {a3} {b4}", "ie", "Companies Registration Office",
            ("Liffey", "Emerald", "Shamrock", "Celtic", "Wicklow", "Shannon"),
            _CORES_EN, ("Limited", "DAC", "Teoranta"),
            ("Seán", "Aoife", "Conor", "Niamh", "Cian", "Saoirse"),
            ("Murphy", "Kelly", "O'Sullivan", "Walsh", "O'Brien", "Byrne"),
            ("gmail.com", "eircom.net", "outlook.ie"),
            ("Grafton Street", "O'Connell Street", "Baggot Street", "Harcourt Street"),
            ("Dublin", "Cork", "Galway")),
    Country("LU", "Luxembourg", 2, "+352 {a3} {b3}", "lu", "Luxembourg Business Registers",
            ("Grand Duchy", "Moselle", "Kirchberg", "Alzette", "Ardennes"),
            ("Capital", "Investments", "Fund Services", "Holdings", "Finance"),
            ("S.à r.l.", "S.A.", "SCSp"),
            ("Luc", "Marie", "Tom", "Sarah", "Ben", "Lena"),
            ("Schmit", "Weber", "Hoffmann", "Wagner", "Muller", "Klein"),
            ("pt.lu", "gmail.com"),
            ("Boulevard Royal", "Avenue John F. Kennedy", "Rue de la Gare"),
            ("Luxembourg",)),
    Country("CA", "Canada", 2, "+1 416 555 0{a3}", "ca", "Corporations Canada",
            ("Maple Leaf", "Northern Lights", "Rocky Mountain", "Great Lakes", "Laurentian"),
            _CORES_EN, ("Inc.", "Ltd.", "Corp."),
            ("Liam", "Olivia", "Noah", "Emma", "Benjamin", "Charlotte"),
            ("Tremblay", "Roy", "Gagnon", "MacDonald", "Smith", "Wilson"),
            ("gmail.com", "rogers.com", "outlook.com"),
            ("Bay Street", "Yonge Street", "Rue Sainte-Catherine", "Granville Street"),
            ("Toronto", "Montréal", "Vancouver")),
    Country("IN", "India", 2, "+91 98{a3} {b4}{c1}", "in", "Ministry of Corporate Affairs",
            ("Shree Ganesh", "Bharat", "Sunrise", "Lotus", "Indus", "Ganga", "Deccan"),
            _CORES_EN, ("Private Limited", "Pvt. Ltd.", "Limited"),
            ("Aarav", "Ananya", "Vivaan", "Diya", "Rohan", "Isha", "Arjun", "Priya"),
            ("Sharma", "Patel", "Gupta", "Singh", "Reddy", "Iyer", "Mehta", "Shah"),
            ("gmail.com", "rediffmail.com", "yahoo.co.in"),
            ("MG Road", "Nariman Point", "Connaught Place", "Brigade Road"),
            ("Mumbai", "Bengaluru", "New Delhi", "Pune")),
)

INDUSTRIES = ("Wholesale trade", "Software", "Logistics", "Financial services", "Real estate",
              "Manufacturing", "E-commerce", "Consulting", "Import/export", "Healthcare",
              "Crypto-asset services", "Food and beverage")
OCCUPATIONS = ("Engineer", "Teacher", "Director", "Accountant", "Consultant", "Physician",
               "Entrepreneur", "Sales manager", "Designer", "Lawyer", "Student", "Retired")
KYC_VENDORS = ("Veriff", "Onfido", "Sumsub", "Jumio")
SCREENING_VENDORS = ("ComplyAdvantage", "Refinitiv World-Check", "Dow Jones Risk & Compliance")
BANKS = ("HSBC", "Standard Chartered", "Bank of China", "DBS", "Barclays", "Chase",
         "Deutsche Bank", "BNP Paribas", "UBS", "ING", "Emirates NBD", "Hang Seng Bank")
UTILITIES = ("CLP Power", "Hong Kong Electric", "State Grid", "SP Group", "British Gas",
             "Con Edison", "Vattenfall", "EDF", "DEWA", "Vodafone")
AUDITORS = ("KPMG", "PwC", "Deloitte", "EY", "BDO", "Grant Thornton")
TAG_SETS = ((), (), (), ("high_risk",), ("pep",), ("vip",), ("fintech",), ("crypto",),
            ("high_risk", "crypto"), ("cross_border",), ("cross_border", "fintech"),
            ("priority",), ("sanctions_review",), ("pep", "high_risk"), ("referral",))
APPROVE_REASONS = (None, None, None, "All checks clear", "Documents verified; low risk",
                   "UBO verification complete", "Registry data matches application")
REJECT_REASONS = ("Confirmed sanctions match", "Unable to verify source of funds",
                  "Suspected forged document", "UBO identity verification declined",
                  "Company dissolved according to the registry",
                  "Ownership structure could not be established",
                  "Applicant did not respond to re-upload requests",
                  "Activity outside our risk appetite")
REVISION_REASONS = (None, "Please re-upload the documents listed in the email",
                    "Some documents could not be verified")
REUPLOAD_REASONS = ("Bad image quality", "Expired document", "Missing page",
                    "Wrong document type", "Name does not match")


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", text.lower())


@dataclass
class _CountryPools:
    """Per-country values, precomputed (JSON-escaped where they go into JSON)."""
    code: str
    jcode: str
    registry_j: str
    businesses: list[tuple[str, str, str]]   # (name, json name, domain)
    persons: list[tuple[str, str, str]]      # (name, json name, email local part)
    addresses_j: list[str]
    phone: str
    mail_providers: tuple[str, ...]


def _country_pools(c: Country) -> _CountryPools:
    businesses = []
    for p in c.company_prefixes:
        for core in c.company_cores:
            for s in c.company_suffixes:
                name = f"{p} {core} {s}"
                domain = f"{_slug(p)}{_slug(core)[:8]}.{c.tld}"
                businesses.append((name, _j(name), domain))
    persons = []
    for f in c.first_names:
        for last in c.last_names:
            name = f"{f} {last}"
            persons.append((name, _j(name), f"{_slug(f)}.{_slug(last)}"))
    addresses = []
    for i, street in enumerate(c.streets):
        for j, city in enumerate(c.cities):
            number = 1 + (i * 37 + j * 11) % 280
            addresses.append(_j(f"{number} {street}, {city}, {c.name}"))
    return _CountryPools(c.code, _j(c.code), _j(c.registry), businesses, persons, addresses,
                         c.phone, c.mail_providers)


# --------------------------------------------------------------------------------------
# Document files: a small pool of generated images and PDFs, stored once
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoFile:
    document_type: str
    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _font(size: int):
    from PIL import ImageFont
    return ImageFont.load_default(size=size)


def _image_bytes(img, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(buf, "JPEG", quality=82, optimize=True)
    else:
        img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _face(draw, box, skin, hair):
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle(box, fill=(215, 225, 235), outline=(120, 120, 120))
    draw.ellipse((x0 + w * .2, y0 + h * .62, x1 - w * .2, y1 + h * .3), fill=(60, 70, 95))
    draw.ellipse((x0 + w * .28, y0 + h * .18, x1 - w * .28, y0 + h * .68), fill=skin)
    draw.chord((x0 + w * .26, y0 + h * .12, x1 - w * .26, y0 + h * .5), 180, 360, fill=hair)
    draw.ellipse((x0 + w * .39, y0 + h * .38, x0 + w * .44, y0 + h * .42), fill=(30, 30, 30))
    draw.ellipse((x1 - w * .44, y0 + h * .38, x1 - w * .39, y0 + h * .42), fill=(30, 30, 30))
    draw.arc((x0 + w * .42, y0 + h * .48, x1 - w * .42, y0 + h * .58), 20, 160, fill=(120, 40, 40),
             width=2)


def _passport(i: int, country: str, surname: str, given: str, nat: str) -> "Any":
    from PIL import Image, ImageDraw
    palette = [(142, 26, 36), (18, 44, 94), (22, 84, 58), (60, 24, 80)][i % 4]
    img = Image.new("RGB", (1000, 680), (246, 240, 225))
    d = ImageDraw.Draw(img)
    for y in range(0, 680, 14):  # guilloche-like background lines
        d.arc((-300, y - 400, 1300, y + 400), 200, 340, fill=(232, 222, 205))
    d.rectangle((0, 0, 1000, 70), fill=palette)
    d.text((30, 16), f"PASSPORT  ·  {country.upper()}", font=_font(34), fill="white")
    _face(d, (40, 110, 300, 450), [(233, 196, 160), (198, 150, 110), (150, 105, 75),
                                   (240, 210, 180)][i % 4], [(30, 25, 20), (90, 60, 30)][i % 2])
    f_label, f_value = _font(18), _font(28)
    fields = [("Type / Type", "P"), ("Surname / Nom", surname.upper()),
              ("Given names / Prénoms", given.upper()), ("Nationality", nat),
              ("Date of birth", f"{(i * 7) % 28 + 1:02d} {['JAN', 'MAR', 'JUN', 'SEP'][i % 4]} 19{70 + i * 3}"),
              ("Passport No.", f"{'KEGHP'[i]}{4812930 + i * 7919}"),
              ("Date of expiry", f"{(i * 5) % 28 + 1:02d} OCT 20{31 + i}")]
    y = 100
    for label, value in fields:
        d.text((340, y), label, font=f_label, fill=(90, 90, 90))
        d.text((340, y + 20), value, font=f_value, fill=(20, 20, 20))
        y += 62
    mrz1 = f"P<{nat}{surname.upper()}<<{given.upper().replace(' ', '<')}".ljust(44, "<")[:44]
    mrz2 = f"{'KEGHP'[i]}{4812930 + i * 7919}<0{nat}7{i}0101{i}M3{i}1010<<<<<<<<<<<<<<0{i}"[:44]
    d.rectangle((0, 560, 1000, 680), fill=(252, 250, 244))
    mono = _font(30)
    d.text((30, 575), mrz1, font=mono, fill=(10, 10, 10))
    d.text((30, 620), mrz2.ljust(44, "<"), font=mono, fill=(10, 10, 10))
    return img


def _id_card(i: int, country: str, name: str) -> "Any":
    from PIL import Image, ImageDraw
    color = [(0, 112, 150), (170, 60, 40), (40, 120, 70), (90, 70, 150)][i % 4]
    img = Image.new("RGB", (860, 540), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((8, 8, 852, 532), radius=36, fill=(236, 244, 248), outline=color, width=6)
    d.rectangle((8, 40, 852, 110), fill=color)
    d.text((40, 52), f"{country.upper()}  IDENTITY CARD", font=_font(36), fill="white")
    _face(d, (40, 150, 260, 440), (225, 190, 150), (40, 30, 25))
    rows = [("Name", name), ("Date of birth", f"{10 + i:02d}-0{1 + i % 9}-198{i % 10}"),
            ("Card No.", f"{'ZRAB'[i % 4]}{654321 + i * 1013}({i % 10})"),
            ("Date of issue", f"0{1 + i % 9}-20{18 + i % 6}")]
    y = 150
    for label, value in rows:
        d.text((300, y), label, font=_font(20), fill=(80, 80, 80))
        d.text((300, y + 24), value, font=_font(32), fill=(10, 10, 10))
        y += 72
    d.ellipse((720, 400, 820, 500), outline=color, width=4)
    d.text((742, 432), "SEAL", font=_font(20), fill=color)
    return img


def _certificate(i: int, company: str, number: str, registry: str) -> "Any":
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (850, 1100), (253, 251, 244))
    d = ImageDraw.Draw(img)
    d.rectangle((25, 25, 825, 1075), outline=(120, 95, 40), width=8)
    d.rectangle((45, 45, 805, 1055), outline=(170, 140, 70), width=2)
    d.text((120, 120), "CERTIFICATE OF INCORPORATION", font=_font(40), fill=(60, 40, 10))
    lines = [f"Company No. {number}", "", "I hereby certify that", company,
             "is this day incorporated under the Companies Ordinance",
             "and that this company is limited.", "",
             f"Issued on {(i * 3) % 28 + 1} March 20{12 + i}", "", f"For the {registry}"]
    y = 260
    for line in lines:
        d.text((100, y), line, font=_font(30 if line == company else 24), fill=(30, 30, 30))
        y += 52
    d.ellipse((560, 820, 760, 1020), outline=(150, 20, 20), width=6)
    d.ellipse((585, 845, 735, 995), outline=(150, 20, 20), width=2)
    d.text((600, 905), "REGISTRAR", font=_font(24), fill=(150, 20, 20))
    d.line((100, 980, 420, 980), fill=(30, 30, 30), width=2)
    d.text((100, 990), "Registrar of Companies", font=_font(20), fill=(60, 60, 60))
    return img


def _bill_photo(i: int, name: str, address: str) -> "Any":
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (900, 1200), (205, 200, 190))
    d = ImageDraw.Draw(img)
    d.polygon([(70, 60), (860, 90), (830, 1150), (40, 1120)], fill=(250, 250, 247))
    d.text((110, 130), UTILITIES[i % len(UTILITIES)], font=_font(44), fill=(20, 80, 140))
    d.text((110, 210), "Electricity bill", font=_font(30), fill=(40, 40, 40))
    for k, line in enumerate([name, address, "", "Account 7712-0043-19",
                              "Billing period 01/04 - 30/04", "Amount due  HKD 812.40"]):
        d.text((110, 300 + 50 * k), line, font=_font(26), fill=(30, 30, 30))
    for k in range(6):
        d.rectangle((110 + 110 * k, 900 - 40 * k, 180 + 110 * k, 1000), fill=(120, 160, 200))
    return img


def _pdf(pages: Sequence[Sequence[str]], title: str) -> bytes:
    """A minimal valid PDF (text pages, Helvetica), deterministic byte for byte."""
    def esc(s: str) -> str:
        s = s.encode("latin-1", "replace").decode("latin-1")
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    n_pages = len(pages)
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * k} 0 R" for k in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for k, lines in enumerate(pages):
        ops = ["BT", "/F1 18 Tf", "56 790 Td", f"({esc(title)}) Tj", "/F1 11 Tf", "0 -30 Td"]
        for line in lines:
            ops.append(f"({esc(line)}) Tj")
            ops.append("0 -16 Td")
        ops.append("ET")
        ops.append("0.2 0.3 0.5 RG 2 w 56 770 m 539 770 l S")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * k} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return bytes(out)


def _statement_pdf(i: int, name: str) -> bytes:
    bank = BANKS[i % len(BANKS)]
    rows = [f"Account holder: {name}", f"Account number: ****{4021 + i * 17}",
            f"Statement period: 01/0{1 + i % 9}/2026 - 30/0{1 + i % 9}/2026", "",
            "Date        Description                         Amount       Balance"]
    bal = 120_000 + i * 5311
    for k in range(18):
        amt = ((k * 7919 + i * 104729) % 40_000 - 15_000) / 10
        bal += amt
        rows.append(f"{k + 1:02d}/0{1 + i % 9}   {['Transfer in', 'Card payment', 'Payroll', 'Supplier invoice', 'FX conversion', 'Fee'][k % 6]:<34}{amt:>10.2f}  {bal:>12.2f}")
    return _pdf([rows, [f"{bank} - page 2", "", "Closing balance: " + f"{bal:.2f}",
                        "This statement is generated for demonstration purposes."]],
                f"{bank} - Account statement")


def _address_pdf(i: int, name: str, address: str) -> bytes:
    utility = UTILITIES[(i + 3) % len(UTILITIES)]
    return _pdf([[name, address, "", f"Account number: {880_100 + i * 37}",
                  f"Bill date: 1{i} May 2026", "", "Usage this period: 412 kWh",
                  f"Amount due: {300 + i * 17.35:.2f}", "",
                  "Please pay by the due date shown above."]], f"{utility} - Statement of account")


def _annual_report_pdf(i: int, company: str) -> bytes:
    auditor = AUDITORS[i % len(AUDITORS)]
    return _pdf([[company, f"Annual report for the year ended 31 December 202{4 + i % 2}", "",
                  f"Revenue: {12_400_000 + i * 731_000:,}", f"Net profit: {1_100_000 + i * 91_000:,}",
                  f"Total assets: {30_200_000 + i * 1_210_000:,}", "",
                  f"Independent auditor: {auditor}"],
                 ["Directors' report", "", "The directors present their report and the audited",
                  "financial statements for the year.", "", "Principal activities: trading and "
                  "investment holding."]], f"{company} - Annual report")


def _certificate_pdf(i: int, company: str, number: str, registry: str) -> bytes:
    return _pdf([["", "CERTIFICATE OF INCORPORATION", "", f"Company number: {number}", "",
                  "I hereby certify that", company, "is this day incorporated and is a limited company.",
                  "", f"Given on {i + 2} June 20{15 + i}", "", f"Registrar, {registry}"]],
                "Certificate of incorporation")


@lru_cache(maxsize=1)
def demo_files() -> tuple[DemoFile, ...]:
    """About twenty document files (JPEG, PNG, PDF), the same bytes on every call."""
    people = [("HK", "Hong Kong", "Chan", "Tai Man", "HKG"), ("CN", "China", "Wang", "Xiaoming", "CHN"),
              ("SG", "Singapore", "Tan", "Wei Ling", "SGP"), ("GB", "United Kingdom", "Taylor", "Oliver", "GBR"),
              ("DE", "Germany", "Schneider", "Lea", "DEU")]
    files: list[DemoFile] = []
    for i, (_, cname, sur, given, nat) in enumerate(people):
        files.append(DemoFile("passport", f"passport_{sur.lower()}.jpg", "image/jpeg",
                              _image_bytes(_passport(i, cname, sur, given, nat), "JPEG")))
    for i, (cname, name) in enumerate([("Hong Kong", "CHAN Siu Fung"), ("China", "LI Na"),
                                       ("Singapore", "ONG Jun Jie")]):
        files.append(DemoFile("identity_card", f"id_card_{i + 1}.png", "image/png",
                              _image_bytes(_id_card(i, cname, name), "PNG")))
    files.append(DemoFile("identity_card", "id_card_photo.jpg", "image/jpeg",
                          _image_bytes(_id_card(3, "United Arab Emirates", "Omar Haddad"), "JPEG")))
    companies = [("Golden Dragon Trading Limited", "3124567", "HK Companies Registry"),
                 ("Shenzhen Huaxin Technology Co., Ltd.", "91440300MA5F2C9B1D", "SAMR"),
                 ("Lion City Payments Pte. Ltd.", "201912345K", "ACRA"),
                 ("Thames Logistics Ltd", "09876543", "Companies House")]
    for i, (company, number, registry) in enumerate(companies[:2]):
        files.append(DemoFile("certificate_of_incorporation", f"certificate_{i + 1}.png", "image/png",
                              _image_bytes(_certificate(i, company, number, registry), "PNG")))
    for i, (company, number, registry) in enumerate(companies[2:]):
        files.append(DemoFile("certificate_of_incorporation", f"certificate_{i + 3}.pdf",
                              "application/pdf", _certificate_pdf(i, company, number, registry)))
    addresses = [("Chan Tai Man", "Flat 12B, 88 Nathan Road, Tsim Sha Tsui, Hong Kong"),
                 ("Wang Xiaoming", "18 Shennan Avenue, Futian, Shenzhen"),
                 ("Oliver Taylor", "221 Baker Street, London NW1 6XE")]
    for i, (name, address) in enumerate(addresses):
        files.append(DemoFile("proof_of_address", f"utility_bill_{i + 1}.pdf", "application/pdf",
                              _address_pdf(i, name, address)))
    files.append(DemoFile("proof_of_address", "utility_bill_photo.jpg", "image/jpeg",
                          _image_bytes(_bill_photo(0, "Chan Tai Man",
                                                   "88 Nathan Road, Hong Kong"), "JPEG")))
    for i, name in enumerate(["Golden Dragon Trading Limited", "Tan Wei Ling", "Liberty Capital LLC"]):
        files.append(DemoFile("bank_statement", f"bank_statement_{i + 1}.pdf", "application/pdf",
                              _statement_pdf(i, name)))
    for i, company in enumerate(["Pacific Harbour Holdings Limited", "Rhein Logistik GmbH"]):
        files.append(DemoFile("annual_report", f"annual_report_{i + 1}.pdf", "application/pdf",
                              _annual_report_pdf(i, company)))
    return tuple(files)


def _files_by_type() -> dict[str, list[tuple[str, str, str]]]:
    """document type -> [(filename v1, filename v2, sha256)]"""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for f in demo_files():
        stem, ext = f.filename.rsplit(".", 1)
        out.setdefault(f.document_type, []).append((f.filename, f"{stem}_reupload.{ext}", f.sha256))
    return out


# --------------------------------------------------------------------------------------
# Templates: block, process and UBO states whose status is derived by the rules
# --------------------------------------------------------------------------------------

STAGES = ("collection_flow", "pending_process", "pending_id_verification", "revisions",
          "manual_review", "approved", "rejected")


@dataclass(frozen=True)
class _Ubo:
    kyc_state: str
    outcome: str | None
    block_status: str | None
    reupload_reason: str | None


@dataclass(frozen=True)
class _Doc:
    document_type: str
    block_status: str | None
    reupload_reason: str | None
    versions: int
    ubo_index: int | None


@dataclass(frozen=True)
class _Template:
    kind: str
    workflow: str
    collection_completed: bool
    decision: str | None
    processes: tuple[tuple[str, str, str], ...]
    ubos: tuple[_Ubo, ...]
    docs: tuple[_Doc, ...]
    asked_reuploads: bool
    status: str
    risk: tuple[int, int]
    reviewed_blocks: int


_PROCESS_DETAIL = {
    ("registry_lookup", "pending"): "Waiting for the registry's response",
    ("registry_lookup", "completed"): "Company found in the registry; status: live",
    ("registry_lookup", "failed"): "Registry API timed out after 3 attempts",
    ("sanctions_screening", "pending"): "Queued at the screening provider",
    ("sanctions_screening", "completed"): "No matches on OFAC, UN, EU and HMT lists",
    ("sanctions_screening", "failed"): "Screening provider returned HTTP 503",
}


def template_facts(t: _Template) -> CaseFacts:
    """The facts of a template, read by the same function that reads a stored case."""
    return facts_from(decision=t.decision, collection_completed=t.collection_completed,
                      document_block_statuses=[d.block_status for d in t.docs],
                      kyc_blocks=[(u.block_status, u.kyc_state) for u in t.ubos],
                      process_states=[state for _, state, _ in t.processes])


def _pick(rng: random.Random, weighted: dict[Any, float]) -> Any:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def _make_template(rng: random.Random, stage: str) -> _Template:
    kind = "business" if stage == "pending_id_verification" or rng.random() < 0.58 else "person"
    workflow = "onboarding" if rng.random() < 0.75 else "ongoing_monitoring"
    collected = stage != "collection_flow"
    decision = {"approved": "approved", "rejected": "rejected"}.get(stage)

    # processes
    names = ["registry_lookup", "sanctions_screening"] if kind == "business" else ["sanctions_screening"]
    states: list[str] = []
    for _ in names:
        if stage == "collection_flow":
            states.append(_pick(rng, {"": 0.5, "pending": 0.3, "completed": 0.2}))
        elif stage == "pending_process":
            states.append(_pick(rng, {"pending": 0.5, "completed": 0.5}))
        elif stage == "approved":
            states.append("completed")
        elif stage == "rejected":
            states.append(_pick(rng, {"completed": 0.8, "failed": 0.12, "pending": 0.08}))
        else:
            states.append(_pick(rng, {"completed": 0.93, "failed": 0.07}))
    if stage == "pending_process" and "pending" not in states:
        states[rng.randrange(len(states))] = "pending"
    processes = tuple((n, s, _PROCESS_DETAIL[(n, s)]) for n, s in zip(names, states) if s)

    # UBOs (businesses only)
    ubos: list[_Ubo] = []
    if kind == "business":
        for _ in range(_pick(rng, {1: 0.45, 2: 0.35, 3: 0.2})):
            if stage == "collection_flow":
                state = "not_sent"
            elif stage in ("pending_process", "pending_id_verification"):
                state = _pick(rng, {"completed": 0.55, "sent": 0.35, "not_sent": 0.1})
            else:
                state = "completed"
            outcome = None
            if state == "completed":
                outcome = _pick(rng, {
                    "approved": {"clear": 0.92, "consider": 0.08},
                    "rejected": {"clear": 0.5, "consider": 0.25, "declined": 0.25},
                }.get(stage, {"clear": 0.75, "consider": 0.2, "declined": 0.05}))
            block = None
            if state == "completed":
                if stage == "approved":
                    block = _pick(rng, {"approved": 0.85, None: 0.15})
                elif stage in ("manual_review", "rejected", "revisions", "pending_process",
                               "pending_id_verification"):
                    block = (_pick(rng, {"approved": 0.5, None: 0.5}) if outcome == "clear"
                             else _pick(rng, {None: 0.6, "reupload_needed": 0.4}))
            ubos.append(_Ubo(state, outcome, block, "KYC result needs a new selfie"
                             if block == "reupload_needed" else None))
        if stage == "pending_id_verification" and not any(u.kyc_state == "sent" for u in ubos):
            ubos[0] = _Ubo("sent", None, None, None)

    # documents
    if kind == "business":
        types = (["certificate_of_incorporation", "proof_of_address"] if workflow == "onboarding"
                 else ["annual_report", "proof_of_address"])
        if rng.random() < 0.6:
            types.append("bank_statement")
    else:
        types = [("passport" if workflow == "ongoing_monitoring" or rng.random() < 0.65
                  else "identity_card"), "proof_of_address"]
        if rng.random() < 0.5:
            types.append("bank_statement")
    doc_specs: list[tuple[str, int | None]] = [(t, None) for t in types]
    if kind == "business" and workflow == "onboarding" and rng.random() < 0.5:
        doc_specs.append(("passport", 0))  # the first UBO's passport
    weights = {
        "collection_flow": {None: 1.0},
        "pending_process": {None: 0.7, "approved": 0.25, "reupload_needed": 0.05},
        "pending_id_verification": {None: 0.7, "approved": 0.25, "reupload_needed": 0.05},
        "revisions": {None: 0.5, "approved": 0.5},
        "manual_review": {None: 0.45, "approved": 0.4, "reupload_needed": 0.15},
        "approved": {"approved": 0.85, None: 0.15},
        "rejected": {None: 0.4, "approved": 0.3, "reupload_needed": 0.2, "pending_reupload": 0.1},
    }[stage]
    docs: list[_Doc] = []
    for dtype, ubo_index in doc_specs:
        if stage == "collection_flow" and rng.random() < 0.4:
            continue  # not uploaded yet
        block = _pick(rng, weights)
        versions = 2 if stage in ("manual_review", "approved") and rng.random() < 0.1 else 1
        docs.append(_Doc(dtype, block, rng.choice(REUPLOAD_REASONS) if block in (
            "reupload_needed", "pending_reupload") else None, versions, ubo_index))
    if stage == "revisions":
        if ubos and rng.random() < 0.3:
            k = rng.randrange(len(ubos))
            ubos[k] = _Ubo("sent", None, "pending_reupload",
                           "KYC result needs a new selfie")
        elif docs:
            k = rng.randrange(len(docs))
            d = docs[k]
            docs[k] = _Doc(d.document_type, "pending_reupload", rng.choice(REUPLOAD_REASONS),
                           d.versions, d.ubo_index)
    asked = any(d.block_status == "pending_reupload" for d in docs)
    risk = {"approved": (2, 45), "rejected": (45, 100), "collection_flow": (0, 60)}.get(stage, (5, 90))
    reviewed = sum(d.block_status is not None for d in docs) + sum(u.block_status is not None for u in ubos)
    t = _Template(kind, workflow, collected, decision, processes, tuple(ubos), tuple(docs), asked,
                  "", risk, reviewed)
    status = derive_case_status(template_facts(t)).value
    return _Template(kind, workflow, collected, decision, processes, tuple(ubos), tuple(docs),
                     asked, status, risk, reviewed)


@lru_cache(maxsize=4)
def _templates(seed: int, per_stage: int = 400) -> dict[str, list[_Template]]:
    """Templates grouped by their *derived* status."""
    rng = random.Random(seed * 7919 + 17)
    groups: dict[str, list[_Template]] = {s.value: [] for s in CaseStatus}
    for stage in STAGES:
        for _ in range(per_stage):
            t = _make_template(rng, stage)
            groups[t.status].append(t)
    assert all(groups.values()), "every status has templates"
    return groups


# Status mix by age of the case (days): (max age, {status: weight})
STATUS_MIX_BY_AGE: tuple[tuple[float, dict[str, float]], ...] = (
    (2, {"collection_flow": 28, "pending_process": 22, "pending_id_verification": 14,
         "manual_review": 26, "revisions": 5, "approved": 3, "rejected": 2}),
    (14, {"collection_flow": 9, "pending_process": 9, "pending_id_verification": 9,
          "manual_review": 38, "revisions": 12, "approved": 15, "rejected": 8}),
    (60, {"collection_flow": 3, "pending_process": 3, "pending_id_verification": 4,
          "manual_review": 28, "revisions": 8, "approved": 36, "rejected": 18}),
    (10_000, {"collection_flow": 2, "pending_process": 1.5, "pending_id_verification": 1.5,
              "manual_review": 16, "revisions": 3, "approved": 51, "rejected": 25}),
)


# --------------------------------------------------------------------------------------
# Writers: SQLite executemany, PostgreSQL COPY
# --------------------------------------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "entities": ("id", "kind", "name", "email", "phone", "country", "registration_number"),
    "cases": ("id", "workflow", "entity_id", "case_status", "collection_completed", "decision",
              "decision_reason", "decided_by", "decided_at", "assignee", "risk_score", "tags",
              "user_data", "registry_data", "enriched_data", "created_at", "updated_at",
              "status_changed_at", "version"),
    "ubos": ("id", "case_id", "full_name", "email", "date_of_birth", "nationality",
             "ownership_percent", "kyc_state", "kyc_result", "block_status", "reupload_reason",
             "reviewed_by", "reviewed_at"),
    "documents": ("id", "case_id", "ubo_id", "document_type", "properties", "block_status",
                  "reupload_reason", "reviewed_by", "reviewed_at"),
    "document_files": ("id", "document_id", "version", "filename", "blob_sha256", "uploaded_at",
                       "uploaded_by"),
    "processes": ("id", "case_id", "name", "state", "detail", "updated_at"),
    "decisions": ("id", "case_id", "action", "reason", "actor", "at"),
    "audit_events": ("id", "case_id", "at", "actor", "kind", "before", "after"),
}
TABLE_ORDER = tuple(COLUMNS)
ID_TABLES = ("entities", "ubos", "documents", "document_files", "processes", "decisions",
             "audit_events")


class _Writer:
    """One write transaction on the write engine's raw DBAPI connection."""

    def __init__(self, db: Database, n_new: int):
        self.db = db
        self.raw = db.write_engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.cur = self.conn.cursor()

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        self.cur.execute(sql, params)
        row = self.cur.fetchone()
        return row[0] if row else None

    def close(self) -> None:
        try:
            self.cur.close()
        finally:
            self.raw.close()


BULK_TABLES = ("entities", "cases", "ubos", "documents", "document_files", "processes",
               "decisions")


class _SqliteWriter(_Writer):
    """`executemany` in one `BEGIN IMMEDIATE` transaction. A *bulk* load (at least as many new
    entities as existing ones) also turns foreign key checks off for the connection, drops the
    secondary indexes and the FTS triggers, and rebuilds them all at the end: sorting once is
    much cheaper than a million B-tree insertions per index."""

    def __init__(self, db: Database, n_new: int):
        super().__init__(db, n_new)
        existing = self.scalar("SELECT count(*) FROM entities")
        self.bulk = n_new >= BULK_MIN_CASES and n_new >= existing
        self.cur.execute("PRAGMA cache_size=-262144")  # 256 MiB for this load
        if self.bulk:
            self.cur.execute("PRAGMA foreign_keys=OFF")  # only outside a transaction
        self.cur.execute("BEGIN IMMEDIATE")
        self.sql = {t: f"INSERT INTO {t} ({', '.join(c)}) VALUES ({', '.join('?' * len(c))})"
                    for t, c in COLUMNS.items()}
        self.indexes: list[tuple[str, str]] = []
        self.count_triggers: list[tuple[str, str]] = []

    def lock(self) -> None:
        pass  # BEGIN IMMEDIATE already holds the write lock

    def insert_blobs(self, files: Sequence[DemoFile]) -> None:
        self.cur.executemany(
            "INSERT OR IGNORE INTO file_blobs (sha256, content_type, size, content) "
            "VALUES (?, ?, ?, ?)",
            [(f.sha256, f.content_type, len(f.content), f.content) for f in files])

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            self.cur.executemany(self.sql[table], rows)

    def begin_load(self) -> None:
        if not self.bulk:
            return  # the triggers and indexes are cheaper than rebuilding big ones
        for name in SQLITE_FTS_TRIGGERS:
            self.cur.execute(f"DROP TRIGGER IF EXISTS {name}")
        self.cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                         "substr(name, 1, ?) = ? ORDER BY name",
                         (len(CASE_COUNTS_TRIGGER_PREFIX), CASE_COUNTS_TRIGGER_PREFIX))
        self.count_triggers = self.cur.fetchall()
        for name, _ in self.count_triggers:
            self.cur.execute(f'DROP TRIGGER "{name}"')
        marks = ", ".join("?" * len(BULK_TABLES))
        self.cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                         f"sql IS NOT NULL AND tbl_name IN ({marks})", BULK_TABLES)
        self.indexes = self.cur.fetchall()
        for name, _ in self.indexes:
            self.cur.execute(f'DROP INDEX "{name}"')

    def end_load(self) -> None:
        if not self.bulk:
            return
        for _, sql in self.indexes:  # exactly as the migrations created them
            self.cur.execute(sql)
        self.cur.execute("INSERT INTO entity_search(entity_search) VALUES('rebuild')")
        for sql in SQLITE_FTS_TRIGGERS.values():
            self.cur.execute(sql)
        self.cur.execute("DELETE FROM case_counts")
        self.cur.execute(CASE_COUNTS_RECOUNT)
        for _, sql in self.count_triggers:  # exactly as migration 0003 created them
            self.cur.execute(sql)

    def finish(self, ok: bool) -> None:
        try:
            self.cur.execute("COMMIT" if ok else "ROLLBACK")
        finally:
            self.cur.execute("PRAGMA cache_size=-2000")
            self.cur.execute("PRAGMA foreign_keys=ON")
        if ok:
            self.cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class _PostgresWriter(_Writer):
    """`COPY ... FROM STDIN` per table and batch, in one transaction; the sequences are moved
    past the ids used. A *bulk* load also drops the foreign keys and secondary indexes of the
    loaded tables and recreates them from their catalog definitions at the end (one
    validating join and one sort each, instead of a check and an insertion per row); it
    holds an ACCESS EXCLUSIVE lock on those tables meanwhile, so readers wait too."""

    def __init__(self, db: Database, n_new: int):
        super().__init__(db, n_new)
        existing = self.scalar("SELECT count(*) FROM entities")
        self.bulk = n_new >= BULK_MIN_CASES and n_new >= existing
        self.constraints: list[tuple[str, str, str]] = []
        self.indexes: list[tuple[str, str]] = []
        self.count_triggers: list[tuple[str, str]] = []

    def lock(self) -> None:
        # Other writers wait while we take ids after the current maxima (readers too in bulk).
        mode = "ACCESS EXCLUSIVE" if self.bulk else "EXCLUSIVE"
        self.cur.execute("LOCK TABLE cases, " + ", ".join(ID_TABLES) + f" IN {mode} MODE")

    def insert_blobs(self, files: Sequence[DemoFile]) -> None:
        self.cur.executemany(
            "INSERT INTO file_blobs (sha256, content_type, size, content) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
            [(f.sha256, f.content_type, len(f.content), f.content) for f in files])

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        with self.cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def begin_load(self) -> None:
        if not self.bulk:
            return
        tables = list(BULK_TABLES)
        self.cur.execute(
            "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'f' "
            "AND c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%s) "
            "ORDER BY c.relname, k.conname", (tables,))
        self.constraints = self.cur.fetchall()
        self.cur.execute(
            "SELECT x.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY x.relname", (tables,))
        self.indexes = self.cur.fetchall()
        for table, name, _ in self.constraints:
            self.cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            self.cur.execute(f'DROP INDEX "{name}"')
        # COPY fires row triggers: the counters are recounted once at the end instead.
        self.cur.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal "
            "AND t.tgenabled <> 'D' AND starts_with(t.tgname, %s) ORDER BY t.tgname",
            (CASE_COUNTS_TRIGGER_PREFIX,))
        self.count_triggers = self.cur.fetchall()
        for table, name in self.count_triggers:
            self.cur.execute(f'ALTER TABLE {table} DISABLE TRIGGER "{name}"')

    def end_load(self) -> None:
        if self.bulk:
            self.cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _, sql in self.indexes:
                self.cur.execute(sql)
            for table, name, definition in self.constraints:
                self.cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            # writers of case_counts (a compaction) wait; readers see the old counts till commit
            self.cur.execute("LOCK TABLE case_counts IN EXCLUSIVE MODE")
            self.cur.execute("DELETE FROM case_counts")
            self.cur.execute(CASE_COUNTS_RECOUNT)
            for table, name in self.count_triggers:
                self.cur.execute(f'ALTER TABLE {table} ENABLE TRIGGER "{name}"')
        for table in ID_TABLES:
            self.cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "
                f"FROM {table} HAVING max(id) IS NOT NULL")

    def finish(self, ok: bool) -> None:
        if ok:
            self.conn.commit()
        else:
            self.conn.rollback()


# --------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------


def _next_case_number(w: _Writer) -> int:
    """1 + the highest number among existing ids shaped C-<digits>."""
    w.cur.execute("SELECT length(id), max(id) FROM cases WHERE id LIKE 'C-%' GROUP BY length(id)")
    best = 0
    for _, top in w.cur.fetchall():
        digits = top[2:]
        if digits.isdigit():
            best = max(best, int(digits))
        else:  # a non-numeric id sorts last among equal lengths: look at all of them
            w.cur.execute("SELECT id FROM cases WHERE id LIKE 'C-%' AND length(id) = "
                          + str(len(top)))
            best = max([best] + [int(i[2:]) for (i,) in w.cur.fetchall() if i[2:].isdigit()])
    return best + 1


def _assignable_users(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(User.username).where(
            User.role.in_(("reviewer", "admin")), User.disabled.is_(False)).order_by(User.username)))


def generate_cases(db: Database, n_cases: int, *, seed: int = 0,
                   progress: Progress | None = None) -> int:
    """Insert `n_cases` realistic demo cases (with entities, UBOs, documents, processes and
    decisions) in one transaction; returns the number of cases inserted."""
    return _generate(db, n_cases, seed=seed, progress=progress)


def seed_demo_if_empty(db: Database, n_cases: int = 300) -> bool:
    """Demo mode's first start: workflows, demo users, default views, then `n_cases` cases
    tagged "demo" with audit timelines. Does nothing (returns False) if any case exists."""
    with db.read() as s:
        if s.scalar(select(Case.id).limit(1)) is not None:
            return False
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    ensure_demo_users(db)
    with db.unit_of_work() as s:
        ensure_default_views(s)
    return _generate(db, n_cases, seed=DEMO_SEED, extra_tags=(DEMO_TAG,), with_audit=True,
                     only_if_empty=True) > 0


def _generate(db: Database, n_cases: int, *, seed: int = 0, progress: Progress | None = None,
              extra_tags: Sequence[str] = (), with_audit: bool = False,
              only_if_empty: bool = False) -> int:
    if n_cases <= 0:
        return 0
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    reviewers = _assignable_users(db)
    files = demo_files()
    writer: _Writer = (_SqliteWriter if db.is_sqlite else _PostgresWriter)(db, n_cases)
    ok = False
    try:
        writer.lock()
        if only_if_empty and writer.scalar("SELECT id FROM cases LIMIT 1") is not None:
            return 0
        first_case = _next_case_number(writer)
        first_id = {t: (writer.scalar(f"SELECT max(id) FROM {t}") or 0) + 1 for t in ID_TABLES}
        writer.insert_blobs(files)
        writer.begin_load()
        params = {"seed": seed, "n_cases": n_cases, "first_case": first_case,
                  "first_id": first_id, "reviewers": reviewers, "extra_tags": list(extra_tags),
                  "with_audit": with_audit, "now": utcnow().isoformat(),
                  "files": _files_by_type()}
        batches = (_batches_from_child(params) if n_cases >= PARALLEL_MIN_CASES
                   else _batches(params))
        done = 0
        spent = dict.fromkeys(TABLE_ORDER, 0.0)
        clock = time.perf_counter
        with closing(batches):
            for size, batch in batches:
                for table in TABLE_ORDER:
                    t = clock()
                    writer.write(table, batch[table])
                    spent[table] += clock() - t
                done += size
                if progress:
                    progress(done, n_cases)
        log.debug("demo data: rows written in %s", {t: round(v, 1) for t, v in spent.items()})
        t = time.perf_counter()
        writer.end_load()
        log.debug("demo data: indexes and search rebuilt in %.1fs", time.perf_counter() - t)
        ok = True
    finally:
        t = time.perf_counter()
        try:
            writer.finish(ok)
        finally:
            writer.close()
        log.debug("demo data: commit in %.1fs", time.perf_counter() - t)
    return n_cases


def _batches(params: dict[str, Any]) -> Iterator[tuple[int, dict[str, list[tuple]]]]:
    factory = _RowFactory(**params)
    n = params["n_cases"]
    for start in range(0, n, BATCH_CASES):
        size = min(BATCH_CASES, n - start)
        yield size, factory.batch(start, size)


def _batches_from_child(params: dict[str, Any]) -> Iterator[tuple[int, dict[str, list[tuple]]]]:
    """The same batches, built by a child Python process while this one inserts the previous
    batch (the two halves of the work then run on two cores)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    errors = tempfile.TemporaryFile()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", "from core.demo.generate import _child_main; _child_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, cwd=str(PROJECT_ROOT),
            env=env)
    except OSError:
        errors.close()
        log.warning("demo data: cannot start a generator process; building rows in-process")
        yield from _batches(params)
        return
    try:
        child.stdin.write(pickle.dumps(params))
        child.stdin.close()
        n = params["n_cases"]
        for start in range(0, n, BATCH_CASES):
            try:
                batch = pickle.load(child.stdout)
            except EOFError:
                child.wait()
                errors.seek(0)
                raise RuntimeError("the demo data generator process failed: "
                                   + errors.read().decode(errors="replace")[-2000:]) from None
            yield min(BATCH_CASES, n - start), batch
        child.wait()
    finally:
        if child.poll() is None:  # the load failed half-way: stop our generator process
            child.kill()
            child.wait()
        child.stdout.close()
        errors.close()


def _child_main() -> None:
    params = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    for _, batch in _batches(params):
        pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


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
                          ac=("212", "415", "512", "305", "312", "302")[n % 6])
    return phone


class _RowFactory:
    """Builds the rows of a batch of cases as tuples in table column order (the hot loop:
    everything that can be is precomputed here, per template and per country)."""

    def __init__(self, seed: int, n_cases: int, first_case: int, first_id: dict[str, int],
                 reviewers: list[str], extra_tags: Sequence[str], with_audit: bool, now: str,
                 files: dict[str, list[tuple[str, str, str]]]):
        self.rng = random.Random(seed)
        self.n = n_cases
        self.first_case = first_case
        self.next_id = dict(first_id)
        self.reviewers = reviewers
        self.with_audit = with_audit
        now = datetime.fromisoformat(now)
        origin = (now - timedelta(days=HISTORY_DAYS + 1)).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
        self.now_s = (now - origin).total_seconds()
        self.days = [(origin + timedelta(days=d)).strftime("%Y-%m-%d ")
                     for d in range(HISTORY_DAYS + 3)]
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
        for c in COUNTRIES:
            p = _country_pools(c)
            entry = (c.code, p, _reg_formatter(c.code), _phone_formatter(c.phone),
                     [(name, jname, domain, f'{{"company_name": {jname}, "registration_number": "')
                      for name, jname, domain in p.businesses],
                     [(name, jname, local, f'{{"full_name": {jname}, "date_of_birth": "')
                      for name, jname, local in p.persons])
            self.country_slots.extend([entry] * c.weight)

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
                     for d in (3, 9, 14, 21, 27)]
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

    def batch(self, start: int, size: int) -> dict[str, list[tuple]]:
        ent_rows: list[tuple] = []
        case_rows: list[tuple] = []
        ubo_rows: list[tuple] = []
        doc_rows: list[tuple] = []
        file_rows: list[tuple] = []
        proc_rows: list[tuple] = []
        dec_rows: list[tuple] = []
        audit_rows: list[tuple] = []
        r = self.rng.random
        n = self.n
        span = HISTORY_DAYS * 86400.0
        now_s = self.now_s
        t0 = now_s - span
        days, hms = self.days, self.hms

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
        for i in range(start, start + size):
            case_id = f"C-{first_case + i:07d}"
            created = t0 + (i + r()) / n * span
            age = now_s - created
            if i < 7 and force:
                status = statuses[i]  # every status is present in every run
            else:
                for max_age, names, cum in mix:
                    if age < max_age:
                        status = names[bisect.bisect_left(cum, r())]
                        break
            group = groups[status]
            (business, kind, workflow, status, collected, decision, action, risk_lo, risk_span,
             version, assign_p, procs, ubos, docs, asked, has_registry, screened,
             moved) = group[int(r() * len(group))]
            code, cp, reg_of, phone_of, businesses, persons = slots[int(r() * n_slots)]
            k = int(r() * 1e15)  # one random number feeds the numbers below
            phone = phone_of(k)
            addr = cp.addresses_j[k % len(cp.addresses_j)]
            if business:
                name, jname, domain, ud = businesses[k % len(businesses)]
                email = f"{business_mail[k % 6]}@{domain}"
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
            case_rows.append((case_id, workflow, eid, status, collected, decision, reason,
                              decided_by, decided_at, assignee, risk_lo + k % risk_span, tags,
                              user_data, registry_data, enriched, c_s, up_s, ch_s, version))
            eid += 1

            for pname, pstate, detail, pending in procs:
                proc_rows.append((pid, case_id, pname, pstate, detail, c_s if pending else ch_s))
                pid += 1

            first_ubo = uid
            if ubos:
                share = 100.0
                last = len(ubos) - 1
                for j, (kyc_state, outcome, block, ureason, score) in enumerate(ubos):
                    x = r()
                    ucode, ucp = (code, cp) if x < 0.8 else slots[int(x * 1e6) % n_slots][:2]
                    upersons = ucp.persons
                    uname, _, ulocal = upersons[int(x * 1e9) % len(upersons)]
                    if j == last:
                        pct = round(share, 1)
                    else:
                        pct = round(share * (0.35 + 0.4 * x), 1)
                        share -= pct
                    result = (f'{kyc_prefix[outcome][j & 3]}{score + x * 0.14:.2f}, '
                              f'"session_id": "{k + j:x}"}}') if outcome else None
                    ubo_rows.append((uid, case_id, uname, f"{ulocal}{j}@{ucp.mail_providers[0]}",
                                     dobs[int(x * 1e7) % n_dobs], ucode, pct, kyc_state, result,
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
        return {"entities": ent_rows, "cases": case_rows, "ubos": ubo_rows, "documents": doc_rows,
                "document_files": file_rows, "processes": proc_rows, "decisions": dec_rows,
                "audit_events": audit_rows}
