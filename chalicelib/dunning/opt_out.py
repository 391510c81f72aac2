"""Does an SMS reply mean "stop"? Carrier keywords and plain-language requests (TCPA,
FCC 24-24: any reasonable means of revoking consent must be honoured)."""
from __future__ import annotations

import re

KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPT-OUT",
                      "OPTOUT", "REMOVE", "ARRET"})
_FILLER = frozenset({"PLEASE", "PLS", "NOW", "THANKS", "THANK", "YOU", "ME", "IT", "ALL"})
_PLAIN = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(stop|quit|cease)\b.{0,30}\b(text|texting|texts|messag\w*|contact\w*|sms|send\w*)",
    r"\b(do not|don'?t|dont|no more|never)\b.{0,20}\b(text|texts|messag\w*|contact|sms)",
    r"\bunsubscribe\b", r"\bopt[\s-]?out\b", r"\bremove me\b", r"\bleave me alone\b",
    r"\btake me off\b",
)]


def means_stop(body: str) -> bool:
    words = re.sub(r"[^\w\s-]", " ", body or "").upper().split()
    meaningful = [w for w in words if w not in _FILLER]
    if len(meaningful) == 1 and meaningful[0] in KEYWORDS:
        return True
    return any(p.search(body or "") for p in _PLAIN)
