"""Personal data is never learned: Faker writes values of the same kind and format.

:class:`PiiFiller` learns, per PII column, only aggregate facts — the kind, the character template of
formatted numbers (``(###) ###-####``), the share of NULLs, whether values are unique, the age range of
dates of birth — and whether the table has a US-state column to keep zip codes consistent with it. No real
value is stored in a saved model. While the real values are at hand (fit and sample in one process, as in
``synthbank clone``) a generated value that happens to equal a real one is drawn again.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from faker import Faker

from synthbank import seeding
from synthbank.protection import DEFAULT_RARE_THRESHOLD, robust_bounds
from synthbank.schemas.model import Table

US_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
    "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC",
}
#: Kinds too coarse to identify anyone alone (shared by many people): a chance match with a real value is
#: not redrawn.
_COARSE = {"first_name", "last_name", "city", "zipcode", "date_of_birth"}
#: Kinds whose values are formatted digits: the source's template is reproduced with random digits.
_TEMPLATED = {"phone", "ssn", "account_number", "zipcode"}


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
                             unique=column.unique or (len(present) > 1 and present.is_unique and column.pii in ("email", "ssn", "card_number", "account_number", "iban", "username")))
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

    def fill(self, frame: pd.DataFrame, seed: int) -> pd.DataFrame:
        """Add every PII column to ``frame`` (synthetic rows), deterministic for ``seed``."""
        if not self.columns:
            return frame
        fake = Faker(self.locale)
        fake.seed_instance(seed)
        rng = seeding.rng(seed, "nulls")
        n = len(frame)
        people = [self._person(fake) for _ in range(n)]
        states = frame[self.state_column].astype(str).tolist() if self.state_column in frame else [None] * n
        out = frame.copy()
        for name, spec in self.columns.items():
            values = self._values(fake, spec, name, people, states)
            if spec.null_share > 0:
                values = [None if rng.random() < spec.null_share else v for v in values]
            out[name] = pd.Series(values, index=frame.index, dtype=object)
        return out

    # --- value makers -----------------------------------------------------------------------------
    def _person(self, fake: Faker) -> tuple[str, str]:
        """A first and last name whose combination is not a real person's of the training data."""
        real = self.real_values.get("__full_names__", set())
        for _ in range(50):
            first, last = fake.first_name(), fake.last_name()
            if f"{first} {last}" not in real:
                break
        return first, last

    def _values(self, fake: Faker, spec: PiiColumn, name: str, people, states) -> list:
        real, everything = self.real_values.get(name, set()), self.real_values.get("__everything__", set())
        seen: set = set()
        out = []
        for i, (first, last) in enumerate(people):
            for attempt in range(50):
                value = self._one(fake, spec, first, last, states[i], i, attempt)
                key = str(value)
                if ((key in real or key in everything) and spec.kind not in _COARSE) or (spec.unique and key in seen):
                    continue
                break
            seen.add(key)
            out.append(value)
        return out

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
