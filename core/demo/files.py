"""The demo document files: a small pool of generated passports, ID cards, certificates,
bills, statements and reports (JPEG, PNG, PDF), the same bytes on every run.

Why it exists: demo cases need real files to open in the document viewer, and a million
cases must not mean a million blobs; about twenty files are drawn here once (Pillow and a
minimal PDF writer) and stored once in `file_blobs`, every generated document pointing at one.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from core.demo.world import AUDITORS, BANKS, UTILITIES


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


@lru_cache(maxsize=1)
def ring_file() -> DemoFile:
    """The utility bill two demo applicants both sent (core/demo/rings.py): a file of its
    own, so it links only them (the stock files above stand in for each applicant's own
    upload and are not keyed by the demo loader)."""
    return DemoFile("proof_of_address", "utility_bill_scan.pdf", "application/pdf",
                    _address_pdf(7, "Lam Chi Ming", "Room 18C, 41 Lockhart Road, Wan Chai"))
