"""A seeded history book of payer types, in the generic import shape with paid dates (for the
`prediction` bench when no real book is given).

Debtor types and how late they pay (days after the due date; the shares are of debtors):
- prompt (30%): about on the due date, N(-1, 2.5); 1 invoice in 20 slips by 5-20 days;
- slow but steady (30%): a habit drawn from 7-30 days late, N(habit, 4);
- erratic (15%): a habit of 0-25 days, N(habit, 6), and 1 invoice in 4 a further
  exponential delay of mean 25 days (paid when cash allows);
- stretched (15%): starts 10-25 days late and slips 1.5 days later with every invoice
  (a customer in growing financial trouble);
- disputer (10%): a habit of 5-20 days, N(habit, 5); 1 invoice in 5 is disputed (the
  Disputed column says yes) and paid 25-60 days later than the habit.
Every type but prompt pays a larger invoice later: 3 days per doubling over the debtor's
usual amount. Terms are the debtor's (14, 30, 45 or 60 days; 1 invoice in 10 on other
terms) and lateness does not depend on them: invoices are paid about two weeks late
whatever the terms (Xero's analysis of millions of small-business invoices). Each debtor
bills 0.5-3 invoices a month of a log-normal amount around its usual; one in five
debtors starts trading part-way through. Invoices still unpaid when the book is exported
are open rows (no paid date).
"""
from __future__ import annotations

import math
import random
from datetime import date, timedelta

HEADER = ("debtor_ref,debtor_name,email,timezone,country,invoice_number,issue_date,due_date,"
          "currency,amount,amount_paid,paid_date,disputed")
TYPES = (("prompt", 0.30), ("slow_but_steady", 0.30), ("erratic", 0.15), ("stretched", 0.15),
         ("disputer", 0.10))
START = date(2024, 1, 1)
MONTHS = 24
CUTOFF = date(2025, 7, 1)    # learn from what was settled before, predict what is issued after
EXPORTED = date(2026, 2, 1)  # the book's export day: later payments are still open rows


def _type(rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for name, share in TYPES:
        acc += share
        if r < acc:
            return name
    return TYPES[-1][0]


def generate(seed: int = 15, debtors: int = 300) -> tuple[str, dict[str, str]]:
    """(CSV text, debtor ref -> type)."""
    rng = random.Random(seed)
    lines = [HEADER]
    kinds: dict[str, str] = {}
    end = START + timedelta(days=int(MONTHS * 30.44))
    number = 0
    for d in range(debtors):
        ref = f"D{d:04d}"
        kind = kinds[ref] = _type(rng)
        habit = {"prompt": -1.0, "slow_but_steady": rng.uniform(7, 30),
                 "erratic": rng.uniform(0, 25), "stretched": rng.uniform(10, 25),
                 "disputer": rng.uniform(5, 20)}[kind]
        terms = rng.choice((14, 30, 30, 30, 45, 60))
        usual = math.exp(rng.uniform(math.log(200), math.log(20_000)))
        per_month = rng.uniform(0.5, 3)
        day = START if rng.random() < 0.8 else START + timedelta(days=rng.randrange(MONTHS * 30))
        k = 0
        while True:
            day += timedelta(days=max(1, int(rng.expovariate(per_month / 30.44))))
            if day >= end:
                break
            number += 1
            k += 1
            t = terms if rng.random() > 0.1 else rng.choice((7, 14, 30, 60))
            due = day + timedelta(days=t)
            amount = max(10.0, rng.lognormvariate(math.log(usual), 0.5))
            disputed = False
            if kind == "prompt":
                late = rng.gauss(-1, 2.5) + (rng.uniform(5, 20) if rng.random() < 0.05 else 0)
            elif kind == "slow_but_steady":
                late = rng.gauss(habit, 4)
            elif kind == "erratic":
                late = rng.gauss(habit, 6) + (rng.expovariate(1 / 25) if rng.random() < 0.25 else 0)
            elif kind == "stretched":
                late = rng.gauss(habit + 1.5 * k, 5)
            else:
                late = rng.gauss(habit, 5)
                if rng.random() < 0.2:
                    disputed, late = True, late + rng.uniform(25, 60)
            if kind != "prompt" and amount > usual:
                late += 3 * math.log2(amount / usual)
            paid = max(day, due + timedelta(days=int(round(late))))
            settled = paid < EXPORTED
            cents = int(round(amount * 100))
            money = f"{cents // 100}.{cents % 100:02d}"
            lines.append(",".join([
                ref, f"{ref} Ltd", f"ap@{ref.lower()}.example.com", "Europe/London", "GB",
                f"INV-{number:06d}", day.isoformat(), due.isoformat(), "GBP", money,
                money if settled else "0.00", paid.isoformat() if settled else "",
                ("yes" if disputed else "no") if settled else ""]))
    return "\n".join(lines) + "\n", kinds
