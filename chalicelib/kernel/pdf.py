"""A minimal, text-only PDF writer (PDF 1.4, A4, the standard Helvetica and Courier fonts).

No PDF library is installed or vendored, and a handover document needs only headings,
paragraphs, label/value lines and preformatted text (templates, scripts), so this writes
them directly: WinAnsi text (characters outside Windows-1252 are replaced), word wrapping
by Helvetica's real glyph widths, page breaks, and a footer with page numbers. Content
streams are left uncompressed so the text can be read back (tests do), and the file is
7-bit ASCII (strings escape other bytes), so it is served as a plain body."""
from __future__ import annotations

from dataclasses import dataclass

PAGE_W, PAGE_H = 595.28, 841.89  # A4 in points
MARGIN = 56.0
FOOTER_Y = 30.0

# Helvetica advance widths (per 1000 em) for printable ASCII 32..126 (Adobe's AFM).
_HELV = [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
         556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
         1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
         667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
         333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
         556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584]
_FONTS = {"body": ("F1", "Helvetica"), "bold": ("F2", "Helvetica-Bold"),
          "mono": ("F3", "Courier")}
_STYLES = {  # style: (font, size, leading, space before)
    "title": ("bold", 20, 26, 0), "h1": ("bold", 15, 20, 14), "h2": ("bold", 12, 16, 10),
    "p": ("body", 10, 13.5, 4), "small": ("body", 8.5, 11, 2), "mono": ("mono", 8.5, 10.5, 4),
    "item": ("body", 10, 13.5, 1),
}
_REPLACE = {"\u2212": "-", "\u202f": " ", "\u2009": " ", "\u2011": "-", "\u2192": "->",
            "\u2190": "<-", "\u2264": "<=", "\u2265": ">=", "\u2248": "~", "\u25b2": "^",
            "\u25bc": "v", "\u2713": "v"}


@dataclass(frozen=True)
class Block:
    style: str  # title | h1 | h2 | p | small | mono | item
    text: str


def _winansi(text: str) -> bytes:
    text = "".join(_REPLACE.get(ch, ch) for ch in text)
    return text.encode("cp1252", errors="replace")


def _width(data: bytes, font: str, size: float) -> float:
    if font == "mono":
        return len(data) * 600 * size / 1000
    scale = 1.1 if font == "bold" else 1.0  # bold runs a little wider; wrapping stays safe
    return sum(_HELV[b - 32] if 32 <= b <= 126 else 556 for b in data) * size * scale / 1000


def _wrap(text: str, font: str, size: float, width: float) -> list[bytes]:
    """Lines that fit `width`, broken at spaces (a word longer than a line is cut)."""
    lines: list[bytes] = []
    for para in text.split("\n"):
        current = b""
        for word in _winansi(para).split(b" "):
            trial = current + b" " + word if current else word
            if _width(trial, font, size) <= width or not current:
                current = trial
            else:
                lines.append(current)
                current = word
            while _width(current, font, size) > width and len(current) > 1:
                cut = len(current)
                while cut > 1 and _width(current[:cut], font, size) > width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
        lines.append(current)
    return lines


def _escape(data: bytes) -> bytes:
    """A PDF string's body in 7-bit ASCII: non-ASCII bytes as octal escapes, so the whole
    file is ASCII and travels as a text body (no binary media type for API Gateway)."""
    out = bytearray()
    for b in data:
        if b in (0x28, 0x29, 0x5C):  # ( ) \\
            out += b"\\" + bytes([b])
        elif 32 <= b < 127:
            out.append(b)
        else:
            out += b"\\%03o" % b
    return bytes(out)


def _layout(blocks: list[Block]) -> list[list[tuple[str, float, float, bytes]]]:
    """Pages of (font, size, y, line) from the top margin down."""
    pages: list[list[tuple[str, float, float, bytes]]] = [[]]
    width = PAGE_W - 2 * MARGIN
    y = PAGE_H - MARGIN
    for block in blocks:
        font, size, leading, before = _STYLES.get(block.style, _STYLES["p"])
        indent = 12.0 if block.style == "item" else 0.0
        text = ("\u2022 " + block.text) if block.style == "item" else block.text
        lines = _wrap(text, font, size, width - indent)
        # keep a heading with at least two lines of what follows
        need = leading * (3 if block.style in ("h1", "h2") else 1)
        if pages[-1] and y - before - need < MARGIN + 10:
            pages.append([])
            y = PAGE_H - MARGIN
        elif pages[-1]:
            y -= before
        for line in lines:
            if y - leading < MARGIN + 10:
                pages.append([])
                y = PAGE_H - MARGIN
            y -= leading
            pages[-1].append((font, size, MARGIN + indent, y, line))  # type: ignore[arg-type]
    return pages  # type: ignore[return-value]


def render(blocks: list[Block], *, title: str, footer: str = "") -> bytes:
    """The document as PDF bytes: an info dictionary with the title, one page per
    page's worth of blocks, each with `footer — page n of N`."""
    pages = _layout(blocks)
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the pages object number is known
    pages_obj = add(b"")
    fonts = {name: add(b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
                       % base.encode()) for name, (_, base) in _FONTS.items()}
    font_res = b" ".join(b"/%s %d 0 R" % (_FONTS[n][0].encode(), num) for n, num in fonts.items())
    kids = []
    total = len(pages)
    for n, lines in enumerate(pages, start=1):
        ops = [b"BT"]
        for font, size, x, y, line in lines:
            ops.append(b"/%s %.1f Tf 1 0 0 1 %.2f %.2f Tm (%s) Tj" % (
                _FONTS[font][0].encode(), size, x, y, _escape(line)))
        foot = _winansi(f"{footer} \u2014 page {n} of {total}" if footer else f"Page {n} of {total}")
        ops.append(b"/F1 8 Tf 1 0 0 1 %.2f %.2f Tm (%s) Tj" % (MARGIN, FOOTER_Y, _escape(foot)))
        ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] "
                        b"/Resources << /Font << %s >> >> /Contents %d 0 R >>"
                        % (pages_obj, PAGE_W, PAGE_H, font_res, content)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    info = add(b"<< /Title (%s) /Producer (Recoup) >>" % _escape(_winansi(title)))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, catalog, info, xref)
    return bytes(out)


def text_of(pdf: bytes) -> str:
    """The text drawn on every page, in order (for tests and checks of our own output)."""
    import re

    out = []
    for m in re.finditer(rb"\(((?:\\.|[^\\)])*)\) Tj", pdf):
        raw = re.sub(rb"\\([0-7]{3}|.)", lambda e: bytes([int(e.group(1), 8)])
                     if len(e.group(1)) == 3 else e.group(1), m.group(1))
        out.append(raw.decode("cp1252", errors="replace"))
    return "\n".join(out)
