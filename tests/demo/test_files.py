"""Demo document files: real PDFs and images, the same bytes on every call."""
from __future__ import annotations

import re

from core.demo.files import demo_files


def test_pdf_is_parseable_structure():
    pdf = next(f for f in demo_files() if f.content_type == "application/pdf").content
    xref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[xref:xref + 4] == b"xref"
    for m in re.finditer(rb"(\d{10}) 00000 n", pdf[xref:]):
        offset = int(m.group(1))
        assert re.match(rb"\d+ 0 obj", pdf[offset:offset + 12])
    assert demo_files() == demo_files()  # deterministic bytes
