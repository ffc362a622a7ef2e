"""PII scrubbing of training texts, and filling of the placeholders in generated ones.

Two passes replace personal data by typed placeholders such as ``[NAME]`` or ``[EMAIL]``:

1. every value of the source's PII columns found verbatim in the text (case-insensitive, whole words;
   the parts of a person's name are matched case-sensitively, e.g. "Jane" alone), then
2. patterns: URLs, emails, SSNs, card numbers (Luhn), phone numbers and long digit runs (accounts).

The model is trained on scrubbed texts, so it learns to write the placeholders; :func:`fill_placeholders`
then writes fake values (Faker) or CFPB-style ``XXXX`` in their place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from faker import Faker

from synthbank.vocabulary import NAME_PII_KINDS

#: PII kind of a column (see schemas.detect) → placeholder written in its place.
KIND_PLACEHOLDER = {
    "name": "NAME", "first_name": "NAME", "last_name": "NAME", "username": "NAME",
    "email": "EMAIL", "phone": "PHONE", "ssn": "SSN", "card_number": "CARD",
    "account_number": "ACCOUNT", "iban": "ACCOUNT", "identifier": "ACCOUNT", "national_id": "SSN", "street_address": "ADDRESS", "address": "ADDRESS",
    "city": "CITY", "zipcode": "ZIP", "date_of_birth": "DATE", "ip_address": "IP",
}
PLACEHOLDERS = sorted(set(KIND_PLACEHOLDER.values()) | {"URL"})
PLACEHOLDER_RE = re.compile(r"\[(" + "|".join(PLACEHOLDERS) + r")\]")

_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("URL", re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)]")),
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("CARD", re.compile(r"\b\d(?:[ -]?\d){12,18}\b")),
    ("PHONE", re.compile(r"(?<![\w$])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\b\d{3}[\s.-])\d{3}[\s.-]\d{4}\b(?:\s*(?:x|ext\.?)\s*\d+)?")),
    ("ACCOUNT", re.compile(r"(?<![\d$.,])\d{8,}\b")),
]
_TOKEN = re.compile(r"[\w@+'’-]+(?:\.[\w@+'’-]+)*")
_MIN_LENGTH = 3


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _key(text: str) -> str:
    return " ".join(_TOKEN.findall(text)).lower()


class PiiScrubber:
    """Replace PII in texts by placeholders. ``values`` maps a PII kind to the real values of that kind."""

    def __init__(self, values: Mapping[str, Iterable] | None = None):
        self._phrases: dict[str, str] = {}  # normalized value → placeholder
        self._name_parts: set[str] = set()  # case-sensitive single words
        self._longest = 1
        for kind, items in (values or {}).items():
            placeholder = KIND_PLACEHOLDER.get(kind, "NAME" if "name" in kind else kind.upper())
            for value in items:
                if value is None or (isinstance(value, float) and value != value):
                    continue
                text = str(value).strip()
                key = _key(text)
                if len(key) < _MIN_LENGTH:
                    continue
                self._phrases[key] = placeholder
                self._longest = max(self._longest, key.count(" ") + 1)
                if kind in NAME_PII_KINDS:
                    self._name_parts.update(p for p in _TOKEN.findall(text) if len(p) >= _MIN_LENGTH and p[0].isupper())

    @property
    def size(self) -> int:
        return len(self._phrases)

    def _literal(self, text: str) -> str:
        if not self._phrases and not self._name_parts:
            return text
        tokens = list(_TOKEN.finditer(text))
        out, last, i = [], 0, 0
        while i < len(tokens):
            hit = None
            for length in range(min(self._longest, len(tokens) - i), 0, -1):
                key = " ".join(t.group() for t in tokens[i:i + length]).lower()
                if key in self._phrases:
                    hit = (length, self._phrases[key])
                    break
            end = None
            if hit is None:
                word = tokens[i].group()
                part = word[:-2] if word.endswith(("'s", "’s")) else word  # "Levy's" → "Levy"
                if part in self._name_parts:
                    hit, end = (1, "NAME"), tokens[i].start() + len(part)
            if hit is None:
                i += 1
                continue
            length, placeholder = hit
            out.append(text[last:tokens[i].start()])
            out.append(f"[{placeholder}]")
            last = end if end is not None else tokens[i + length - 1].end()
            i += length
        out.append(text[last:])
        return "".join(out)

    def scrub(self, text: str) -> str:
        """``text`` with every known PII value and every PII pattern replaced by its placeholder."""
        text = self._literal(text)
        for placeholder, pattern in _PATTERNS:
            if placeholder == "CARD":
                text = pattern.sub(lambda m: "[CARD]" if _luhn(re.sub(r"\D", "", m.group())) else m.group(), text)
            else:
                text = pattern.sub(f"[{placeholder}]", text)
        return text

    def find(self, text: str) -> list[str]:
        """The known PII values (normalized) that occur in ``text``: empty when it is clean."""
        tokens = [t.group() for t in _TOKEN.finditer(text)]
        found = []
        for i in range(len(tokens)):
            for length in range(min(self._longest, len(tokens) - i), 0, -1):
                key = " ".join(tokens[i:i + length]).lower()
                if key in self._phrases:
                    found.append(key)
                    break
        return found


def _fake(faker: Faker, placeholder: str) -> str:
    return {
        "NAME": faker.name, "EMAIL": faker.email, "PHONE": faker.phone_number, "SSN": faker.ssn,
        "CARD": faker.credit_card_number, "ACCOUNT": faker.bban, "ADDRESS": faker.street_address,
        "CITY": faker.city, "ZIP": faker.zipcode, "DATE": lambda: faker.date_of_birth().isoformat(),
        "IP": faker.ipv4, "URL": faker.url,
    }[placeholder]()


def fill_placeholders(text: str, faker: Faker, *, mode: str = "faker", row_values: Mapping[str, str] | None = None,
                      forbidden: PiiScrubber | None = None) -> str:
    """Replace placeholders: with the row's own synthetic value of that kind when given (``row_values``
    maps a placeholder such as ``"NAME"`` to a value), else a Faker value, or ``XXXX`` with ``mode="mask"``.
    A Faker value that happens to be a real one (``forbidden``) is drawn again."""
    if mode not in ("faker", "mask"):
        from synthbank.errors import SynthbankError

        raise SynthbankError(f"pii_fill must be 'faker' or 'mask', got {mode!r}.")

    def replace(match: re.Match) -> str:
        placeholder = match.group(1)
        if mode == "mask":
            return "XXXX"
        if row_values and row_values.get(placeholder):
            return str(row_values[placeholder])
        for _ in range(10):
            value = _fake(faker, placeholder)
            if forbidden is None or not forbidden.find(value):
                return value
        return "XXXX"

    return PLACEHOLDER_RE.sub(replace, text)
