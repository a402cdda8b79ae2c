"""The demo world: countries with their name pools, industries, vendors and the other word lists.

Why it exists: generated cases must look like a real KYC/KYB book (Hong Kong and Chinese
companies first, plausible people, registries, banks, auditors, reasons), and that reference
data is long. It lives here, apart from the code that builds rows from it (`core.demo.rows`),
the document files (`core.demo.files`) and the case templates (`core.demo.case_templates`).
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any


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
    Country("US", "United States", 9, "+1 {ac} 555 {a4}", "com", "Delaware Division of Corporations",
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
    Country("CA", "Canada", 2, "+1 {cac} 555 {a4}", "ca", "Corporations Canada",
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
    places: list[str]    # "street, city, country": a case's address adds a number and unit
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
    places = [f"{street}, {city}, {c.name}" for street in c.streets for city in c.cities]
    return _CountryPools(c.code, _j(c.code), _j(c.registry), businesses, persons, places,
                         c.phone, c.mail_providers)
