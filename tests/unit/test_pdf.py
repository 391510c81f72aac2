"""The text-only PDF writer: a well-formed file a viewer opens, text that reads back."""
from __future__ import annotations

import re

from chalicelib.kernel import pdf


def _doc() -> bytes:
    blocks = [pdf.Block("title", "Café (Acme) — £1,200.00 −5 \\ done")]
    blocks += [pdf.Block("p", "word " * 400)] * 6 + [pdf.Block("mono", "line one\nline two")]
    return pdf.render(blocks, title="Café playbook", footer="Café playbook")


def test_the_file_is_well_formed_ascii_with_a_true_cross_reference_table():
    data = _doc()
    data.decode("ascii")  # served as a plain body
    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")
    start = int(re.search(rb"startxref\n(\d+)", data).group(1))
    assert data[start:start + 4] == b"xref"
    offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n ", data)]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(b"%d 0 obj" % number)
    for m in re.finditer(rb"/Length (\d+) >>\nstream\n", data):
        assert data[m.end() + int(m.group(1)):].startswith(b"\nendstream")


def test_long_text_wraps_within_the_page_and_breaks_onto_numbered_pages():
    data = _doc()
    pages = data.count(b"/Type /Page ")
    assert pages >= 2 and f"page {pages} of {pages}" in pdf.text_of(data)
    for m in re.finditer(rb"Tm \(((?:\\.|[^\\)])*)\) Tj", data):
        assert len(m.group(1)) < 130  # no line runs off the page
    text = pdf.text_of(data)
    assert "Café (Acme) — £1,200.00 -5 \\ done" in text  # − has no WinAnsi glyph: "-"
    assert "line one\nline two" in text
