"""Personal data is never learned: Faker writes values of the same kind and format.

:class:`PiiFiller` learns, per PII column, only aggregate facts — the kind, the character template of
formatted numbers (``(###) ###-####``), the share of NULLs, whether values are unique, the age range of
dates of birth — and whether the table has a US-state column to keep zip codes consistent with it. No real
value is stored in a saved model. While the real values are at hand (fit and sample in one process, as in
``synthbank clone``) a generated value that happens to equal a real one is drawn again.

Filling is batched (tens of thousands of rows a second): names and email domains are drawn with numpy
from the locale's own Faker lists (with their weights), formatted numbers get numpy digits in the source's
template, card numbers, IBANs, IP addresses and dates of birth are built with numpy the way Faker builds
them (Luhn and mod-97 check digits included), and addresses and cities come from a seeded pool of Faker
values (about one per hundred rows) whose digits are drawn again per row. A locale whose provider does not
keep those lists the standard way falls back to one Faker call per row.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from faker import Faker

from synthbank import seeding
from synthbank.protection import DEFAULT_RARE_THRESHOLD, robust_bounds
from synthbank.relational.fake_draws import (
    card_maker,
    code_strings,
    draw,
    fresh_digits,
    iban_maker,
    ip_maker,
    locale_data,
    member,
    pick,
    template_codes,
    tidy,
    years_before,
)
from synthbank.relational.frames import from_coded_date
from synthbank.relational.identifier_format import IdentifierFormat
from synthbank.schemas.identifiers import as_strings
from synthbank.schemas.model import Table
from synthbank.vocabulary import COARSE_PII_KINDS, IDENTIFIER_PII_KINDS, NAME_PII_KINDS

US_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
    "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC",
}
#: Kinds whose values identify one person: a column of them that is unique in the source stays unique.
_IDENTIFYING = {"email", "ssn", "card_number", "account_number", "iban", "username", "national_id", "identifier"}
#: Kinds whose values are formatted digits: the source's template is reproduced with random digits.
_TEMPLATED = {"phone", "ssn", "account_number", "zipcode", "national_id", "identifier"}
#: Kinds made from the row's person (first and last name).
_PERSONAL = {"name", "first_name", "last_name", "email", "username"}
#: Batched redraw rounds for values equal to a real one or repeating one of a unique column.
_ROUNDS = 20
#: Pools of Faker addresses and cities: ``_POOL_MIN + rows // _POOL_PER`` values per call (digits redrawn
#: per row), a Faker call per hundred rows instead of one per row.
_POOL_MIN, _POOL_PER = 32, 100


@dataclass
class PiiColumn:
    kind: str
    null_share: float = 0.0
    unique: bool = False
    template: str | None = None
    max_length: int | None = None
    min_age: float | None = None
    max_age: float | None = None
    date_type: bool = False
    #: identifiers: their :class:`~synthbank.relational.identifier_format.IdentifierFormat` as a dict
    format: dict | None = None


@dataclass
class PiiFiller:
    locale: str = "en_US"
    columns: dict[str, PiiColumn] = field(default_factory=dict)
    state_column: str | None = None
    #: Real values per column while fitting and sampling in one process; never saved.
    real_values: dict[str, set] = field(default_factory=dict, repr=False)

    @classmethod
    def learn(cls, table: Table, frame: pd.DataFrame, everything: set[str] | None = None, *,
              locale: str | None = None, skip: Iterable[str] = (), k: int = DEFAULT_RARE_THRESHOLD) -> PiiFiller:
        """``everything``: every real string of the database (in memory only), so that a generated name,
        email… never equals a real value of *any* column, such as a payee's name in a column not marked PII.
        ``locale``: Faker's locale for names, streets and cities; ``skip``: PII columns written elsewhere
        (identifiers that repeat: :mod:`synthbank.relational.pseudonyms`); ``k``: a character of an
        identifier's format must be shared by this many values."""
        filler = cls(locale=locale or "en_US")
        for name in table.columns_of("pii"):
            if name in skip:
                continue
            column = table.columns[name]
            values = frame[name] if name in frame else pd.Series(dtype=object)
            present = values.dropna()
            if column.pii in IDENTIFIER_PII_KINDS:
                present = as_strings(values)
            spec = PiiColumn(kind=column.pii, null_share=float(values.isna().mean()) if len(values) else 0.0,
                             unique=column.unique or (len(present) > 1 and present.is_unique and column.pii in _IDENTIFYING))
            length = re.search(r"\((\d+)\)", column.type)
            spec.max_length = int(length.group(1)) if length else None
            if column.pii in _TEMPLATED and len(present):
                shapes = Counter(re.sub(r"\d", "#", str(v)) for v in present.head(2000))
                spec.template = shapes.most_common(1)[0][0]
            if column.pii in IDENTIFIER_PII_KINDS and len(present) >= k:
                spec.format = IdentifierFormat.learn(present, k).to_dict()
            if column.pii == "date_of_birth" and len(present):
                dates = (from_coded_date(present, column.format).dropna() if column.format else
                         pd.to_datetime(present.astype(str), errors="coerce", utc=True, format="mixed").dropna().dt.tz_localize(None))
                ages = (pd.Timestamp.today() - dates).dt.days / 365.25
                bounds = robust_bounds(ages, DEFAULT_RARE_THRESHOLD)  # not the oldest customer's exact age
                if bounds is not None:
                    spec.min_age, spec.max_age = float(np.floor(bounds[0])), float(np.ceil(bounds[1]))
                spec.date_type = not column.type.startswith("varchar")
            filler.columns[name] = spec
            filler.real_values[name] = set(present.astype(str))
        firsts = [n for n, c in filler.columns.items() if c.kind == "first_name"]
        lasts = [n for n, c in filler.columns.items() if c.kind == "last_name"]
        full = {v for n, c in filler.columns.items() if c.kind == "name" for v in filler.real_values[n]}
        if firsts and lasts:
            full |= set((frame[firsts[0]].astype(str) + " " + frame[lasts[0]].astype(str)).dropna())
        filler.real_values["__full_names__"] = full | (everything or set())
        filler.real_values["__everything__"] = everything or set()
        for name, column in table.columns.items():
            if column.sdtype == "categorical" and name in frame and len(frame[name].dropna()):
                if frame[name].dropna().astype(str).isin(US_STATES).mean() > 0.95:
                    filler.state_column = name
                    break
        return filler

    def fill(self, frame: pd.DataFrame, seed: int, *, start: int = 0, seen: dict[str, set] | None = None,
             only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> pd.DataFrame:
        """Add every PII column to ``frame`` (synthetic rows).

        Values are drawn a column at a time with numpy (Faker's own name, domain and card lists; a
        seeded pool of Faker addresses and cities with fresh digits), so a call costs a few Faker calls
        per hundred rows, not one per row and column.

        ``start`` is the global index of the frame's first row: numeric suffixes (``i + 1`` in emails and
        usernames) count from it, so chunks sampled one after another stay apart. ``seen`` (one dict for
        all chunks of a table) holds the values of unique columns already written and is updated in
        place: a value is never repeated across chunks. The output is deterministic for ``seed`` and
        ``start`` (and, for unique columns, what ``seen`` held), and it depends on the number of rows:
        the same rows filled in one call or in two chunks get different (equally valid) values.

        ``only`` fills just those columns, as keys (never NULL: a foreign key elsewhere refers to them, as
        ``transfers.from_iban`` to ``accounts.iban``); ``skip`` leaves those columns as they are.
        """
        if not self.columns:
            return frame
        batch = _Batch(self, frame, seed, start)
        out = frame.copy()
        for name, spec in self.columns.items():
            if (only is not None and name not in only) or name in skip:
                continue
            if only is not None:
                spec = PiiColumn(**{**asdict(spec), "null_share": 0.0})
            taken = seen.setdefault(name, set()) if seen is not None and spec.unique else set()
            values = self._column(batch, name, spec, taken) if len(frame) else np.empty(0, dtype=object)
            if spec.null_share > 0 and len(frame):
                values[batch.rng("nulls", name).random(len(frame)) < spec.null_share] = None
            out[name] = pd.Series(values, index=frame.index, dtype=object)
        return out

    # --- drawing a column ---------------------------------------------------------------------------
    def _column(self, batch: _Batch, name: str, spec: PiiColumn, taken: set) -> np.ndarray:
        """Draw all rows, then redraw only the rows whose value equals a real value (not for the coarse
        kinds) or repeats one of a unique column; rows still failing after ``_ROUNDS`` batched rounds go
        through the per-row Faker path with up to 50 attempts each, as before."""
        n = batch.n
        make, fixed = self._maker(batch, name, spec)
        real = self.real_values.get(name, set())
        everything = self.real_values.get("__everything__", set())
        check = spec.kind not in COARSE_PII_KINDS and not fixed and bool(real or everything)
        values = np.empty(n, dtype=object)
        pending = np.arange(n)
        for attempt in range(1 if fixed else _ROUNDS):
            drawn = make(pending, attempt)
            values[pending] = drawn
            if not (check or spec.unique):
                return values
            keys = [str(v) for v in drawn] if spec.kind == "date_of_birth" else drawn
            bad = np.zeros(len(pending), dtype=bool)
            if check:
                bad |= member(keys, real) | member(keys, everything)
            if spec.unique:
                bad |= member(keys, taken) | pd.Series(keys, dtype=object).duplicated().to_numpy()
                taken.update(itertools.compress(keys, ~bad))
            pending = pending[bad]
            if not len(pending):
                return values
        if fixed:  # names are set by the person (whose full name is already not a real one)
            taken.update(str(values[i]) for i in pending)
            return values
        fake = batch.faker("rows", name)
        first, last = batch.people() if spec.kind in _PERSONAL else (None, None)
        for i in pending:
            for attempt in range(_ROUNDS, _ROUNDS + 50):
                value = self._one(fake, spec, first[i] if first is not None else None,
                                  last[i] if last is not None else None, batch.state(i), batch.start + i, attempt)
                key = str(value)
                if ((key in real or key in everything) and spec.kind not in COARSE_PII_KINDS) or (spec.unique and key in taken):
                    continue
                break
            taken.add(key)
            values[i] = value
        return values

    def _maker(self, batch: _Batch, name: str, spec: PiiColumn):
        """``(make, fixed)``: ``make(rows, attempt)`` returns values for those rows (positions in the
        frame); ``fixed`` for the name kinds, whose value the row's person decides."""
        kind, data, rng = spec.kind, batch.data, batch.rng("column", name)
        if kind in NAME_PII_KINDS:
            first, last = batch.people()
            if kind == "name":
                full = np.array([f"{a} {b}" for a, b in zip(first.tolist(), last.tolist())], dtype=object)
                return (lambda rows, attempt: full[rows].tolist()), True
            chosen = first if kind == "first_name" else last
            return (lambda rows, attempt: chosen[rows].tolist()), True
        if kind in ("email", "username"):
            first, last = batch.people()
            if kind == "email":  # re.sub(r"[^a-z.]", "", f"{first}.{last}".lower()), a name at a time
                local = tidy(first, r"[^a-z.]") + "." + tidy(last, r"[^a-z.]")
            else:  # re.sub(r"[^a-z]", "", (first[0] + last).lower())
                local = tidy(first, r"[^a-z]", initial=True) + tidy(last, r"[^a-z]")
            domains = data["email_domains"]
            fake = batch.faker("column", name) if kind == "email" and domains is None else None

            def make_address(rows, attempt):
                extra = str(attempt) if attempt else ""
                numbers = (rows + batch.start + 1).tolist()
                if kind == "username":
                    return [f"{a}{i}{extra}" for a, i in zip(local[rows].tolist(), numbers)]
                hosts = (pick(domains, len(rows), rng).tolist() if domains is not None
                         else [fake.free_email_domain() for _ in rows])
                return [f"{a}{i}{extra}@{h}" for a, i, h in zip(local[rows].tolist(), numbers, hosts)]
            return make_address, False
        if kind == "zipcode" and batch.states is not None and data["postcodes"] is not None:
            ranges = data["postcodes"]
            codes, states = pd.factorize(batch.states)
            bounds = np.array([ranges[s] if s in ranges and s in US_STATES and s != "DC" else (-1, -1)
                               for s in states] or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2)[codes]
            low, high = bounds[:, 0], bounds[:, 1]
            # rows without a known state: the template (its own random stream)
            outside = PiiColumn(**{**asdict(spec), "kind": "_zipcode"})
            other = self._maker(batch, f"{name}\x1foutside states", outside)[0]

            def make_zip(rows, attempt):
                out = np.empty(len(rows), dtype=object)
                inside = low[rows] >= 0
                if inside.any():
                    drawn = rng.integers(low[rows][inside], high[rows][inside] + 1)
                    out[inside] = code_strings(48 + (drawn[:, None] // 10 ** np.arange(4, -1, -1)) % 10)
                if not inside.all():
                    out[~inside] = other(rows[~inside], attempt)
                return out.tolist()
            return make_zip, False
        if kind in IDENTIFIER_PII_KINDS and spec.format:
            fmt = IdentifierFormat.from_dict(spec.format)
            return (lambda rows, attempt: fmt.generate(len(rows), rng)), False
        if kind in _TEMPLATED | {"_zipcode"} and spec.template:
            template = spec.template
            if set(template) & set("!@"):  # optional digits: Faker's numerify, row by row
                fake = batch.faker("column", name)
                return (lambda rows, attempt: [fake.numerify(template) for _ in rows]), False
            codes, kinds = template_codes(template)
            return (lambda rows, attempt: code_strings(draw(codes[np.zeros(len(rows), dtype=np.intp)],
                                                         kinds[np.zeros(len(rows), dtype=np.intp)], rng))), False
        pooled = {"phone": "phone_number", "ssn": "ssn", "account_number": "bban", "_zipcode": "zipcode",
                  "zipcode": "zipcode", "street_address": "street_address", "address": "address", "city": "city"}
        if kind in pooled:
            fake = batch.faker("pool", name)
            method = getattr(fake, pooled[kind])
            size = min(batch.n, _POOL_MIN + batch.n // _POOL_PER)
            pool = [method().replace("\n", ", ") for _ in range(size)]
            if kind == "city":
                pool = np.array(pool, dtype=object)
                return (lambda rows, attempt: pool[rng.integers(0, size, len(rows))].tolist()), False
            codes, kinds = fresh_digits(pool)
            cut = spec.max_length if kind in ("address", "street_address") else None

            def make_pooled(rows, attempt):
                picked = rng.integers(0, size, len(rows))
                values = code_strings(draw(codes[picked], kinds[picked], rng))
                return [v[:cut] for v in values] if cut else values
            return make_pooled, False
        if kind == "date_of_birth":
            return self._birth_dates(spec, rng), False
        if kind == "card_number" and data["cards"] is not None:
            return card_maker(data["cards"], rng), False
        if kind == "iban" and data["iban"] is not None:
            return iban_maker(*data["iban"], rng), False
        if kind == "ip_address":
            return ip_maker(rng), False
        if kind not in ("card_number", "iban", "national_id", "identifier"):
            raise ValueError(f"unknown PII kind {kind!r}")
        fake = batch.faker("column", name)  # a locale whose provider does its own thing: row by row
        return (lambda rows, attempt: [self._one(fake, spec, None, None, None, batch.start + i, attempt)
                                       for i in rows]), False

    @staticmethod
    def _birth_dates(spec: PiiColumn, rng: np.random.Generator):
        """Faker's ``date_of_birth`` (a day after the (max+1)-th birthday … the min-th birthday), drawn
        with numpy."""
        youngest = max(0, int(spec.min_age or 18))
        oldest = max(youngest, int(spec.max_age or 90))
        today = date.today()
        first = years_before(today, oldest + 1).toordinal() + 1
        last = years_before(today, youngest).toordinal()
        epoch = date(1970, 1, 1).toordinal()

        def make(rows, attempt):
            days = (rng.integers(first, last + 1, len(rows)) - epoch).astype("datetime64[D]")
            return days.astype(object).tolist() if spec.date_type else np.datetime_as_string(days).tolist()
        return make

    # --- one value with Faker (locales without the lists; rows the batched rounds could not settle) --
    def _one(self, fake: Faker, spec: PiiColumn, first: str, last: str, state: str | None, i: int, attempt: int):
        kind = spec.kind
        if kind == "name":
            return f"{first} {last}"
        if kind == "first_name":
            return first
        if kind == "last_name":
            return last
        if kind == "email":
            local = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower())
            return f"{local}{i + 1}{'' if not attempt else attempt}@{fake.free_email_domain()}"
        if kind == "username":
            return f"{re.sub(r'[^a-z]', '', (first[0] + last).lower())}{i + 1}{'' if not attempt else attempt}"
        if kind == "zipcode" and state in US_STATES and state not in ("DC",):
            return fake.zipcode_in_state(state)
        if kind in _TEMPLATED and spec.template:
            return fake.numerify(spec.template)
        if kind == "phone":
            return fake.phone_number()
        if kind == "ssn":
            return fake.ssn()
        if kind == "account_number":
            return fake.bban()
        if kind == "zipcode":
            return fake.zipcode()
        if kind in ("address", "street_address"):
            value = fake.street_address() if kind == "street_address" else fake.address().replace("\n", ", ")
            return value[: spec.max_length] if spec.max_length else value
        if kind == "city":
            return fake.city()
        if kind == "date_of_birth":
            born = fake.date_of_birth(minimum_age=int(spec.min_age or 18), maximum_age=int(spec.max_age or 90))
            return born if spec.date_type else born.isoformat()
        if kind == "card_number":
            return fake.credit_card_number()
        if kind == "iban":
            return fake.iban()
        if kind == "ip_address":
            return fake.ipv4_public()
        if kind in ("national_id", "identifier"):  # no value to learn a shape from
            return fake.numerify("##########")
        raise ValueError(f"unknown PII kind {kind!r}")

    # --- persistence (no real values) ---------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"locale": self.locale, "state_column": self.state_column,
                "columns": {name: asdict(spec) for name, spec in self.columns.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> PiiFiller:
        return cls(locale=data["locale"], state_column=data["state_column"],
                   columns={name: PiiColumn(**spec) for name, spec in data["columns"].items()})


# --- batched drawing ---------------------------------------------------------------------------------
class _Batch:
    """One call of :meth:`PiiFiller.fill`: its random streams, the rows' people and the locale's lists."""

    def __init__(self, filler: PiiFiller, frame: pd.DataFrame, seed: int, start: int):
        self.filler, self.seed, self.start, self.n = filler, int(seed), int(start), len(frame)
        self.data = locale_data(filler.locale)
        column = filler.state_column
        self.states = frame[column].astype(str).to_numpy(dtype=object) if column in frame else None
        self._people: tuple[np.ndarray, np.ndarray] | None = None

    def rng(self, *labels) -> np.random.Generator:
        return seeding.rng(self.seed, "pii", self.start, *labels)

    def faker(self, *labels) -> Faker:
        """This thread's Faker of the locale, seeded for ``labels`` (use it before asking for another)."""
        fakers = _THREAD.__dict__.setdefault("fakers", {})
        if self.filler.locale not in fakers:
            fakers[self.filler.locale] = Faker(self.filler.locale)
        fake = fakers[self.filler.locale]
        fake.seed_instance(seeding.int_seed(self.seed, "pii", self.start, "faker", *labels))
        return fake

    def state(self, i: int) -> str | None:
        return None if self.states is None else self.states[i]

    def people(self) -> tuple[np.ndarray, np.ndarray]:
        """A first and last name per row whose combination is not a real person's of the training data
        (colliding rows are drawn again, up to 50 rounds)."""
        if self._people is None:
            rng, fake = self.rng("people"), None
            if self.data["first_names"] is None or self.data["last_names"] is None:
                fake = self.faker("people")

            def names(count: int) -> tuple[np.ndarray, np.ndarray]:
                if fake is not None:
                    pairs = [(fake.first_name(), fake.last_name()) for _ in range(count)]
                    return (np.array([a for a, _ in pairs] or [], dtype=object),
                            np.array([b for _, b in pairs] or [], dtype=object))
                if self.data.get("by_sex") is not None:  # a man's first name with a man's last name
                    first_male, last_male, first_female, last_female = self.data["by_sex"]
                    female = rng.random(count) < 0.5
                    first = np.where(female, pick(first_female, count, rng), pick(first_male, count, rng))
                    last = np.where(female, pick(last_female, count, rng), pick(last_male, count, rng))
                    return first.astype(object), last.astype(object)
                return (pick(self.data["first_names"], count, rng), pick(self.data["last_names"], count, rng))

            first, last = names(self.n)
            real = self.filler.real_values.get("__full_names__", set())
            pending = np.arange(self.n)
            for _ in range(50):
                if not real or not len(pending):
                    break
                full = [f"{a} {b}" for a, b in zip(first[pending].tolist(), last[pending].tolist())]
                pending = pending[member(full, real)]
                if len(pending):
                    first[pending], last[pending] = names(len(pending))
            self._people = first, last
        return self._people


_THREAD = threading.local()
