"""Fake identifiers in the source's own format: the same widths, characters and check digits.

An :class:`IdentifierFormat` is learned from a column of account numbers, IBANs, card numbers, national
identifiers or other codes. It keeps only aggregate shapes, never a value:

- the widths of the values (a width held by fewer than ``k`` rows is dropped);
- per width and position, the characters found there by at least ``k`` rows, with their counts (a bank
  code or a country prefix that many accounts share survives; a digit that only one account has at that
  position does not — such a position falls back to its character class);
- the check the real values pass: ISO 7064 mod-97 (IBAN), Luhn (cards), or divisibility by 11 (Czech and
  Slovak birth numbers, some account numbers); generated values pass it too;
- for values that begin with a birth date (``YYMMDD``, the month + 50 for women), the two-digit years held
  by at least ``k`` rows and the share of marked months; generated values begin with a valid date.

:meth:`IdentifierFormat.generate` draws values with numpy; the caller makes them unique or keeps them apart
from real values where it must.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from synthbank.relational.fake_draws import code_strings, luhn_check, mod97
from synthbank.schemas.identifiers import as_strings, birth_date_code, century_year, iban_valid, luhn_valid

_CLASSES = {"digit": "0123456789", "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "lower": "abcdefghijklmnopqrstuvwxyz"}
#: Share of real values that must pass a check for generated values to be given it.
CHECK_SHARE = 0.99


def _class_of(char: str) -> str:
    return "digit" if char.isdigit() else "upper" if char.isupper() else "lower" if char.islower() else char


@dataclass
class IdentifierFormat:
    #: width → share of the values
    widths: dict[int, float] = field(default_factory=dict)
    #: width → per position ``[characters, counts]``
    positions: dict[int, list[list]] = field(default_factory=dict)
    checksum: str | None = None  # "iban", "luhn", "mod11"
    #: ``{"years": [[yy, count], …], "marked": share}`` for values that begin with a birth date
    birth: dict | None = None

    @classmethod
    def learn(cls, values: pd.Series, k: int = 5) -> IdentifierFormat:
        """The format of ``values``, counted over *distinct* values: a character or a width is kept only
        when at least ``k`` different identifiers have it (one landlord paid in many rows is one value)."""
        strings = pd.Series(as_strings(values).unique(), dtype=object)
        fmt = cls()
        if strings.empty:
            return fmt
        counts = strings.str.len().value_counts()
        kept = counts[counts >= k]
        if kept.empty:  # too few values for any width to say anything: the commonest, any character of its class
            kept = counts.iloc[:1]
        fmt.widths = {int(w): float(c / kept.sum()) for w, c in kept.items()}
        for width in fmt.widths:
            same = strings[strings.str.len() == width]
            fmt.positions[width] = [_position(same.str[p], k) for p in range(width)]
        sample = strings.head(5000)
        if sample.map(iban_valid).mean() >= CHECK_SHARE:
            fmt.checksum = "iban"
        elif sample.str.fullmatch(r"\d{12,19}").all() and sample.map(luhn_valid).mean() >= CHECK_SHARE:
            fmt.checksum = "luhn"
        elif sample.str.fullmatch(r"\d{9,18}").all() and (sample.map(int) % 11 == 0).mean() >= CHECK_SHARE:
            fmt.checksum = "mod11"
        codes = strings.map(lambda s: birth_date_code(s.replace("/", "")) if len(s) >= 6 else None)
        if codes.notna().mean() >= 0.95:
            present = codes.dropna()
            years = Counter(c[0] for c in present)
            kept_years = [[int(y), int(n)] for y, n in sorted(years.items()) if n >= k]
            if kept_years:
                fmt.birth = {"years": kept_years, "marked": float(present.map(lambda c: c[3]).mean())}
        return fmt

    def generate(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` values in this format (not necessarily distinct)."""
        if not self.widths or n == 0:
            return [""] * n
        widths = np.array(list(self.widths), dtype=int)
        chosen = widths[_choose(np.array(list(self.widths.values())), n, rng)]
        out = np.empty(n, dtype=object)
        for width in np.unique(chosen):
            rows = np.flatnonzero(chosen == width)
            out[rows] = self._draw(int(width), len(rows), rng)
        return out.tolist()

    def _draw(self, width: int, n: int, rng: np.random.Generator) -> list[str]:
        codes = np.zeros((n, width), dtype=np.uint32)
        for p, (chars, counts) in enumerate(self.positions[width]):
            alphabet = np.array([ord(c) for c in chars], dtype=np.uint32)
            codes[:, p] = alphabet[_choose(np.asarray(counts, dtype=float), n, rng)]
        if self.birth is not None and width >= 6:
            codes[:, :6] = self._birth_digits(n, rng)
        if self.checksum == "iban" and width >= 5:
            codes = _iban_check(codes)
        elif self.checksum == "luhn" and _all_digits(codes):
            codes[:, -1] = 48 + luhn_check(codes[:, :-1].astype(np.int64) - 48).astype(np.uint32)
        elif self.checksum == "mod11" and _all_digits(codes):
            pending = np.arange(n)
            for _ in range(50):  # no last digit works for a tenth of the numbers: their other digits are drawn again
                digit = _mod11_digit(codes[pending, :-1] - 48)
                good = digit < 10
                codes[pending[good], -1] = 48 + digit[good]
                pending = pending[~good]
                if not len(pending):
                    break
                start = 6 if self.birth is not None and width >= 6 else 0
                for p, (chars, counts) in enumerate(self.positions[width][:-1]):
                    if p >= start:
                        alphabet = np.array([ord(c) for c in chars], dtype=np.uint32)
                        codes[pending, p] = alphabet[_choose(np.asarray(counts, dtype=float), len(pending), rng)]
        return code_strings(codes)

    def _birth_digits(self, n: int, rng: np.random.Generator) -> np.ndarray:
        years = np.array([y for y, _ in self.birth["years"]])
        yy = years[_choose(np.array([c for _, c in self.birth["years"]], dtype=float), n, rng)]
        month = rng.integers(1, 13, n)
        last_day = np.array([calendar.monthrange(century_year(int(y)), int(m))[1] for y, m in zip(yy, month)])
        day = 1 + (rng.random(n) * last_day).astype(int)
        month = month + np.where(rng.random(n) < self.birth["marked"], 50, 0)
        digits = np.stack([yy // 10, yy % 10, month // 10, month % 10, day // 10, day % 10], axis=1)
        return (48 + digits).astype(np.uint32)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["widths"] = {str(w): s for w, s in self.widths.items()}
        data["positions"] = {str(w): p for w, p in self.positions.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> IdentifierFormat:
        return cls(widths={int(w): s for w, s in data["widths"].items()},
                   positions={int(w): p for w, p in data["positions"].items()},
                   checksum=data.get("checksum"), birth=data.get("birth"))


def _position(chars: pd.Series, k: int) -> list:
    """``[characters, counts]`` at one position: those at least ``k`` values have there, else the class of
    the most common character (all digits, all upper-case letters…)."""
    counts = chars.value_counts()
    kept = counts[counts >= k]
    if len(kept):
        return ["".join(kept.index), [int(c) for c in kept]]
    classes = Counter(_class_of(c) for c in chars)
    common = classes.most_common(1)[0][0]
    alphabet = _CLASSES.get(common, common)
    return [alphabet, [1] * len(alphabet)]


def _choose(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    cumulative = np.cumsum(weights)
    return np.minimum(np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right"), len(weights) - 1)


def _all_digits(codes: np.ndarray) -> bool:
    return bool(((codes >= 48) & (codes <= 57)).all())


def _mod11_digit(digits: np.ndarray) -> np.ndarray:
    """The last digit that makes each row's number divisible by 11 (10: none does)."""
    remainder = np.zeros(len(digits), dtype=np.int64)
    for column in digits.T.astype(np.int64):
        remainder = (remainder * 10 + column) % 11
    return ((11 - remainder * 10 % 11) % 11).astype(np.uint32)


def _iban_check(codes: np.ndarray) -> np.ndarray:
    """IBANs with their two check digits computed from the rest (ISO 7064 mod-97), over the letters and
    digits only: a printed IBAN's spaces (``DE84 1411 …``) stay where they are."""
    upper = np.where((codes >= 97) & (codes <= 122), codes - 32, codes)
    alnum = ((upper >= 48) & (upper <= 57)) | ((upper >= 65) & (upper <= 90))
    columns = np.flatnonzero(alnum.all(axis=0))
    if len(columns) < 5:
        return codes
    body = upper[:, columns]
    rearranged = np.concatenate([body[:, 4:], body[:, :2], np.full((len(codes), 2), 48, dtype=np.uint32)], axis=1)
    check = 98 - mod97(rearranged.T)
    out = codes.copy()
    out[:, columns[2]], out[:, columns[3]] = 48 + check // 10, 48 + check % 10
    return out


def valid(fmt: IdentifierFormat, value: str) -> bool:
    """Whether ``value`` passes the format's check (True when it has none)."""
    if fmt.checksum == "iban":
        return iban_valid(value)
    if fmt.checksum == "luhn":
        return luhn_valid(value)
    if fmt.checksum == "mod11":
        return value.isdigit() and int(value) % 11 == 0
    return True
