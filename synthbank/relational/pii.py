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

import functools
import ipaddress
import itertools
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from faker import Faker

from synthbank import seeding
from synthbank.protection import DEFAULT_RARE_THRESHOLD, robust_bounds
from synthbank.schemas.model import Table
from synthbank.vocabulary import COARSE_PII_KINDS, NAME_PII_KINDS

US_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
    "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC",
}
#: Kinds whose values identify one person: a column of them that is unique in the source stays unique.
_IDENTIFYING = {"email", "ssn", "card_number", "account_number", "iban", "username"}
#: Kinds whose values are formatted digits: the source's template is reproduced with random digits.
_TEMPLATED = {"phone", "ssn", "account_number", "zipcode"}
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


@dataclass
class PiiFiller:
    locale: str = "en_US"
    columns: dict[str, PiiColumn] = field(default_factory=dict)
    state_column: str | None = None
    #: Real values per column while fitting and sampling in one process; never saved.
    real_values: dict[str, set] = field(default_factory=dict, repr=False)

    @classmethod
    def learn(cls, table: Table, frame: pd.DataFrame, everything: set[str] | None = None) -> PiiFiller:
        """``everything``: every real string of the database (in memory only), so that a generated name,
        email… never equals a real value of *any* column, such as a payee's name in a column not marked PII."""
        filler = cls()
        for name in table.columns_of("pii"):
            column = table.columns[name]
            values = frame[name] if name in frame else pd.Series(dtype=object)
            present = values.dropna()
            spec = PiiColumn(kind=column.pii, null_share=float(values.isna().mean()) if len(values) else 0.0,
                             unique=column.unique or (len(present) > 1 and present.is_unique and column.pii in _IDENTIFYING))
            length = re.search(r"\((\d+)\)", column.type)
            spec.max_length = int(length.group(1)) if length else None
            if column.pii in _TEMPLATED and len(present):
                shapes = Counter(re.sub(r"\d", "#", str(v)) for v in present.head(2000))
                spec.template = shapes.most_common(1)[0][0]
            if column.pii == "date_of_birth" and len(present):
                dates = pd.to_datetime(present.astype(str), errors="coerce", utc=True, format="mixed").dropna().dt.tz_localize(None)
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

    def fill(self, frame: pd.DataFrame, seed: int, *, start: int = 0,
             seen: dict[str, set] | None = None) -> pd.DataFrame:
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
        """
        if not self.columns:
            return frame
        batch = _Batch(self, frame, seed, start)
        out = frame.copy()
        for name, spec in self.columns.items():
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
                bad |= _member(keys, real) | _member(keys, everything)
            if spec.unique:
                bad |= _member(keys, taken) | pd.Series(keys, dtype=object).duplicated().to_numpy()
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
                local = _tidy(first, r"[^a-z.]") + "." + _tidy(last, r"[^a-z.]")
            else:  # re.sub(r"[^a-z]", "", (first[0] + last).lower())
                local = _tidy(first, r"[^a-z]", initial=True) + _tidy(last, r"[^a-z]")
            domains = data["email_domains"]
            fake = batch.faker("column", name) if kind == "email" and domains is None else None

            def make_address(rows, attempt):
                extra = str(attempt) if attempt else ""
                numbers = (rows + batch.start + 1).tolist()
                if kind == "username":
                    return [f"{a}{i}{extra}" for a, i in zip(local[rows].tolist(), numbers)]
                hosts = (_pick(domains, len(rows), rng).tolist() if domains is not None
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
                    out[inside] = _strings(48 + (drawn[:, None] // 10 ** np.arange(4, -1, -1)) % 10)
                if not inside.all():
                    out[~inside] = other(rows[~inside], attempt)
                return out.tolist()
            return make_zip, False
        if kind in _TEMPLATED | {"_zipcode"} and spec.template:
            template = spec.template
            if set(template) & set("!@"):  # optional digits: Faker's numerify, row by row
                fake = batch.faker("column", name)
                return (lambda rows, attempt: [fake.numerify(template) for _ in rows]), False
            codes, kinds = _template(template)
            return (lambda rows, attempt: _strings(_draw(codes[np.zeros(len(rows), dtype=np.intp)],
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
            codes, kinds = _fresh_digits(pool)
            cut = spec.max_length if kind in ("address", "street_address") else None

            def make_pooled(rows, attempt):
                picked = rng.integers(0, size, len(rows))
                values = _strings(_draw(codes[picked], kinds[picked], rng))
                return [v[:cut] for v in values] if cut else values
            return make_pooled, False
        if kind == "date_of_birth":
            return self._birth_dates(spec, rng), False
        if kind == "card_number" and data["cards"] is not None:
            return _card_maker(data["cards"], rng), False
        if kind == "iban" and data["iban"] is not None:
            return _iban_maker(*data["iban"], rng), False
        if kind == "ip_address":
            return _ip_maker(rng), False
        if kind not in ("card_number", "iban"):
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
        first = _years_before(today, oldest + 1).toordinal() + 1
        last = _years_before(today, youngest).toordinal()
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
        self.data = _locale_data(filler.locale)
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
                return (_pick(self.data["first_names"], count, rng), _pick(self.data["last_names"], count, rng))

            first, last = names(self.n)
            real = self.filler.real_values.get("__full_names__", set())
            pending = np.arange(self.n)
            for _ in range(50):
                if not real or not len(pending):
                    break
                full = [f"{a} {b}" for a, b in zip(first[pending].tolist(), last[pending].tolist())]
                pending = pending[_member(full, real)]
                if len(pending):
                    first[pending], last[pending] = names(len(pending))
            self._people = first, last
        return self._people


_THREAD = threading.local()


def _member(keys: list, values: set) -> np.ndarray:
    if not values:
        return np.zeros(len(keys), dtype=bool)
    return np.fromiter(map(values.__contains__, keys), dtype=bool, count=len(keys))


def _tidy(names: np.ndarray, pattern: str, initial: bool = False) -> np.ndarray:
    """``re.sub(pattern, "", name.lower())`` of every name (of its first letter with ``initial``),
    computed once per distinct name."""
    codes, distinct = pd.factorize(names)
    compiled = re.compile(pattern)
    tidied = np.empty(len(distinct), dtype=object)
    tidied[:] = [compiled.sub("", (str(v)[:1] if initial else str(v)).lower()) for v in distinct]
    return tidied[codes]


def _elements(values) -> tuple[np.ndarray, np.ndarray | None] | None:
    """A Faker element collection as ``(values, cumulative weights)``: a dict is weighted (as Faker's
    ``random_element`` draws it), a sequence uniform (weights None)."""
    if isinstance(values, dict) and values:
        return (np.array(list(values.keys()), dtype=object),
                np.cumsum(np.array(list(values.values()), dtype=float)))
    if isinstance(values, (list, tuple, str)) and len(values):
        array = np.empty(len(values), dtype=object)
        array[:] = list(values)
        return array, None
    return None


def _pick(elements: tuple[np.ndarray, np.ndarray | None], size: int, rng: np.random.Generator) -> np.ndarray:
    values, cumulative = elements
    if cumulative is None:
        return values[rng.integers(0, len(values), size)]
    chosen = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    return values[np.minimum(chosen, len(values) - 1)]


def _own(fake: Faker, method: str, base: type, *helpers: str):
    """The provider behind ``fake.<method>`` if it (and ``helpers``) are Faker's base implementation,
    whose data can then be drawn with numpy; None where the locale does its own thing."""
    try:
        provider = getattr(fake, method).__self__
    except AttributeError:
        return None
    same = all(getattr(type(provider), m, None) is getattr(base, m, object()) for m in (method, *helpers))
    return provider if same else None


@functools.cache
def _locale_data(locale: str) -> dict:
    """The lists behind Faker's names, email domains, card numbers, IBANs and US zip codes for
    ``locale``, where its providers use them the standard way (else None: per-row Faker calls)."""
    from faker.providers.address.en_US import Provider as UsAddress
    from faker.providers.bank import Provider as Bank
    from faker.providers.credit_card import Provider as Cards
    from faker.providers.internet import Provider as Internet
    from faker.providers.person import Provider as Person

    fake = Faker(locale)
    data: dict = {}
    person = _own(fake, "first_name", Person)
    data["first_names"] = _elements(person.first_names) if person is not None else None
    person = _own(fake, "last_name", Person)
    data["last_names"] = _elements(person.last_names) if person is not None else None
    internet = _own(fake, "free_email_domain", Internet)
    data["email_domains"] = _elements(internet.free_email_domains) if internet is not None else None
    address = _own(fake, "zipcode_in_state", UsAddress, "postcode_in_state")
    data["postcodes"] = ({s: tuple(r) for s, r in address.states_postcode.items() if s in address.known_usps_abbr}
                         if address is not None else None)
    cards = _own(fake, "credit_card_number", Cards, "_credit_card_type", "_generate_number")
    data["cards"] = None
    if cards is not None and cards.credit_card_types:
        types = list(cards.credit_card_types.values())
        combos = [(str(prefix), card.length, 1 / len(types) / len(card.prefixes))
                  for card in types for prefix in card.prefixes]
        if all(set(p) <= set("0123456789#%$") and len(p) < length for p, length, _ in combos):
            data["cards"] = combos
    bank = _own(fake, "iban", Bank, "bban")
    data["iban"] = None
    if bank is not None and set(bank.bban_format) <= set("?#%$0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") \
            and re.fullmatch(r"[A-Z]{2}", bank.country_code):
        data["iban"] = (bank.bban_format, bank.country_code)
    return data


#: Placeholder characters of a template as Faker's numerify reads them: ``#`` any digit, ``%`` 1–9,
#: ``$`` 2–9; with ``letters``, ``?`` an upper-case letter (Faker's BBAN formats).
_SLOTS = {"#": 1, "%": 2, "$": 3}
_SLOT_RANGES = {1: (48, 10), 2: (49, 9), 3: (50, 8), 4: (65, 26)}


def _template(template: str, letters: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, kinds)`` of one template (1 × width), to be indexed to as many rows as wanted."""
    slots = {**_SLOTS, "?": 4} if letters else _SLOTS
    codes = np.array([[ord(c) for c in template]], dtype=np.uint32)
    kinds = np.array([[slots.get(c, 0) for c in template]], dtype=np.uint8)
    return codes, kinds


def _fresh_digits(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of ``values`` (NUL-padded) with every ASCII digit marked to be drawn again (the first
    digit of a number stays non-zero when it was: "725 Long Brook" → "3 Lo…" never "025 …")."""
    width = max(1, max(len(v) for v in values))
    codes = np.array(values, dtype=f"<U{width}").view(np.uint32).reshape(len(values), width).copy()
    digit = (codes >= 48) & (codes <= 57)
    first = digit & ~np.concatenate([np.zeros((len(values), 1), dtype=bool), digit[:, :-1]], axis=1)
    kinds = np.where(digit, np.where(first & (codes != 48), 2, 1), 0).astype(np.uint8)
    return codes, kinds


def _draw(codes: np.ndarray, kinds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``codes`` (rows × width) with every placeholder slot replaced by a random character."""
    out = codes.astype(np.uint32, copy=True)
    for kind, (low, count) in _SLOT_RANGES.items():
        slots = kinds == kind
        total = int(slots.sum())
        if total:
            out[slots] = low + rng.integers(0, count, total)
    return out


def _strings(codes: np.ndarray) -> list[str]:
    if not len(codes):
        return []
    return np.ascontiguousarray(codes, dtype=np.uint32).view(f"<U{codes.shape[1]}").ravel().tolist()


def _card_maker(combos: list[tuple[str, int, float]], rng: np.random.Generator):
    """Faker's ``credit_card_number``: a card type, one of its prefixes, random digits and the Luhn check
    digit, for all rows at once."""
    weights = np.cumsum([w for _, _, w in combos])
    plans = [_template(prefix + "#" * (length - len(prefix) - 1)) for prefix, length, _ in combos]

    def make(rows, attempt):
        chosen = np.minimum(np.searchsorted(weights, rng.random(len(rows)) * weights[-1], side="right"),
                            len(combos) - 1)
        out = np.empty(len(rows), dtype=object)
        for c in np.unique(chosen):
            where = np.flatnonzero(chosen == c)
            codes, kinds = plans[c]
            index = np.zeros(len(where), dtype=np.intp)
            body = _draw(codes[index], kinds[index], rng)
            digits = body.astype(np.int64)[:, ::-1] - 48  # from the right, the check digit's neighbour first
            doubled = digits[:, 0::2] * 2
            total = np.where(doubled > 9, doubled - 9, doubled).sum(axis=1) + digits[:, 1::2].sum(axis=1)
            check = (10 - total % 10) % 10
            out[where] = _strings(np.concatenate([body, (48 + check)[:, None].astype(np.uint32)], axis=1))
        return out.tolist()
    return make


def _iban_maker(bban_format: str, country: str, rng: np.random.Generator):
    """Faker's ``iban``: a BBAN of the locale's format and ISO 7064 mod-97 check digits, for all rows."""
    codes, kinds = _template(bban_format, letters=True)
    tail = np.array([ord(c) for c in country + "00"], dtype=np.int64)

    def make(rows, attempt):
        index = np.zeros(len(rows), dtype=np.intp)
        bban = _draw(codes[index], kinds[index], rng)
        remainder = np.zeros(len(rows), dtype=np.int64)
        for column in [*bban.astype(np.int64).T, *(np.full(len(rows), c) for c in tail)]:
            letter = column >= 65
            remainder = np.where(letter, remainder * 100 + column - 55, remainder * 10 + column - 48) % 97
        check = 98 - remainder
        return [f"{country}{c:02d}{b}" for c, b in zip(check.tolist(), _strings(bban))]
    return make


def _ip_maker(rng: np.random.Generator):
    """Faker's ``ipv4_public``: a network class a, b or c, then any address of it outside the private and
    reserved networks (drawn again where it falls in one)."""
    try:
        from faker.providers.internet import _IPv4Constants as constants
        classes = [constants._network_classes[c] for c in "abc"]
        excluded = constants._private_networks + constants._excluded_networks
    except (ImportError, AttributeError, KeyError):  # pragma: no cover - Faker's layout as of 40.x
        classes = [ipaddress.IPv4Network(n) for n in ("0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3")]
        excluded = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                        "0.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
                                                        "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")]
    base = np.array([int(n.network_address) for n in classes], dtype=np.int64)
    size = np.array([n.num_addresses for n in classes], dtype=np.int64)
    nets = np.array([int(n.network_address) for n in excluded], dtype=np.int64)
    masks = np.array([int(n.netmask) for n in excluded], dtype=np.int64)

    def make(rows, attempt):
        network = rng.integers(0, 3, len(rows))
        address = np.zeros(len(rows), dtype=np.int64)
        pending = np.arange(len(rows))
        while len(pending):
            drawn = base[network[pending]] + rng.integers(0, size[network[pending]])
            address[pending] = drawn
            pending = pending[((drawn[:, None] & masks) == nets).any(axis=1)]
        octets = (address[:, None] >> np.array([24, 16, 8, 0])) & 255
        return [f"{a}.{b}.{c}.{d}" for a, b, c, d in octets.tolist()]
    return make


def _years_before(day: date, years: int) -> date:
    """``day`` ``years`` earlier; 29 February becomes 1 March in a common year (as Faker's change_year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28) + timedelta(days=1)
