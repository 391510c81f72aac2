"""The operator's import command shows honest progress to the very end."""
from __future__ import annotations

import re

from tests.conftest import BOOKS


def test_the_cli_import_labels_every_phase_up_to_the_end(tenants, capsys):
    """GIVEN a client and the 300-invoice Acme book
    WHEN an operator imports it with `python -m local.cli import-book`
    THEN every phase has its own labelled bar that reaches its end, the writing bar is
    followed by labelled report and record phases (no silent wait after 100%), and the
    counts are printed last."""
    from local import cli

    a, _ = tenants
    code = cli.main(["import-book", "--agency", a.agency_id, "--client", a.client_id,
                     "--file", str(BOOKS / "acme_generic.csv")])
    out = capsys.readouterr()
    assert code == 0
    finished = [re.sub(r"\s+", " ", line.rsplit("\r", 1)[-1]).strip()
                for line in out.err.split("\n") if line.strip()]
    phases = [re.match(r"acme_generic.csv: (\D+?) \[", f).group(1) for f in finished]
    assert phases[0] == "reading the file" and phases[1] == "reading existing book"
    assert phases[-2:] == ["updating reports", "recording the import"]
    assert any(p.startswith(("writing", "updating invoices", "updating debtors"))
               for p in phases[2:-2])
    for line in finished:  # each phase's last drawing is its end
        done, total = map(int, re.search(r"(\d+)/(\d+) \(", line).groups())
        assert done == total, line
    assert '"invoices_created": 300' in out.out
