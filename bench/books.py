"""Deterministic synthetic debtor books of any size, in the generic CSV shape."""
from __future__ import annotations

import io
import random
from datetime import date, timedelta

HEADER = ("debtor_ref,debtor_name,contact_name,email,secondary_email,phone,timezone,country,"
          "invoice_number,reference,issue_date,due_date,currency,amount,amount_paid")
# (zone, country, phone prefix, digits to append): numbers in each country's real shape.
ZONES = [("Europe/London", "GB", "+447400", 6), ("America/New_York", "US", "+1212555", 4),
         ("Europe/Berlin", "DE", "+4915157", 6), ("Australia/Sydney", "AU", "+6149157", 4)]


def generate(invoices: int, *, per_debtor: int = 10, seed: int = 7,
             today: date = date(2026, 11, 25), prefix: str = "INV",
             currency: str = "GBP") -> bytes:
    rnd = random.Random(seed)
    out = io.StringIO()
    out.write(HEADER + "\n")
    debtors = max(1, invoices // per_debtor)
    for n in range(invoices):
        d = n % debtors
        tz, country, prefix_, digits = ZONES[d % len(ZONES)]
        phone = f"{prefix_}{d % 10 ** digits:0{digits}d}"
        issue = today - timedelta(days=rnd.randint(0, 150))
        due = issue + timedelta(days=rnd.choice((7, 14, 30, 60)))
        amount = rnd.randint(500, 2_500_000)
        paid = rnd.choice((0, 0, 0, amount // 3, amount))
        out.write(f"B{d:06d},Debtor {d} Ltd,Contact {d},ap{d}@debtor{d}.example.com,,"
                  f"{phone},{tz},{country},{prefix}-{n:07d},,"
                  f"{issue.isoformat()},{due.isoformat()},{currency},{amount // 100}.{amount % 100:02d},"
                  f"{paid // 100}.{paid % 100:02d}\n")
    return out.getvalue().encode()


def open_total(book: bytes) -> int:
    """What the generated book says is still owed, in minor units (amount - amount_paid)."""
    total = 0
    for line in book.decode().splitlines()[1:]:
        cells = line.split(",")
        amount, paid = (int(c.replace(".", "")) for c in cells[-2:])
        total += amount - paid
    return total
