"""Batched fake values: Faker's own lists drawn with numpy (names, email domains, card numbers, IBANs, IP
addresses, zip codes by state) and character templates filled with random digits — the drawing behind
:class:`synthbank.relational.pii.PiiFiller`, tens of thousands of rows a second."""

from __future__ import annotations

import functools
import ipaddress
import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
from faker import Faker


def member(keys: list, values: set) -> np.ndarray:
    if not values:
        return np.zeros(len(keys), dtype=bool)
    return np.fromiter(map(values.__contains__, keys), dtype=bool, count=len(keys))


def tidy(names: np.ndarray, pattern: str, initial: bool = False) -> np.ndarray:
    """``re.sub(pattern, "", name.lower())`` of every name (of its first letter with ``initial``),
    computed once per distinct name."""
    codes, distinct = pd.factorize(names)
    compiled = re.compile(pattern)
    tidied = np.empty(len(distinct), dtype=object)
    tidied[:] = [compiled.sub("", (str(v)[:1] if initial else str(v)).lower()) for v in distinct]
    return tidied[codes]


def elements(values) -> tuple[np.ndarray, np.ndarray | None] | None:
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


def pick(elements: tuple[np.ndarray, np.ndarray | None], size: int, rng: np.random.Generator) -> np.ndarray:
    values, cumulative = elements
    if cumulative is None:
        return values[rng.integers(0, len(values), size)]
    chosen = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    return values[np.minimum(chosen, len(values) - 1)]


def own_provider(fake: Faker, method: str, base: type, *helpers: str):
    """The provider behind ``fake.<method>`` if it (and ``helpers``) are Faker's base implementation,
    whose data can then be drawn with numpy; None where the locale does its own thing."""
    try:
        provider = getattr(fake, method).__self__
    except AttributeError:
        return None
    same = all(getattr(type(provider), m, None) is getattr(base, m, object()) for m in (method, *helpers))
    return provider if same else None


@functools.cache
def locale_data(locale: str) -> dict:
    """The lists behind Faker's names, email domains, card numbers, IBANs and US zip codes for
    ``locale``, where its providers use them the standard way (else None: per-row Faker calls)."""
    from faker.providers.address.en_US import Provider as UsAddress
    from faker.providers.bank import Provider as Bank
    from faker.providers.credit_card import Provider as Cards
    from faker.providers.internet import Provider as Internet
    from faker.providers.person import Provider as Person

    fake = Faker(locale)
    data: dict = {}
    person = own_provider(fake, "first_name", Person)
    data["first_names"] = elements(person.first_names) if person is not None else None
    person = own_provider(fake, "last_name", Person)
    data["last_names"] = elements(person.last_names) if person is not None else None
    # locales whose last names follow the person's sex (Novák / Nováková): first and last names by sex
    lists = [getattr(person, f"{part}_names_{sex}", None) if person is not None else None
             for sex in ("male", "female") for part in ("first", "last")]
    gendered = all(isinstance(v, (list, tuple, dict)) and len(v) for v in lists) and set(lists[1]) != set(lists[3])
    data["by_sex"] = [elements(v) for v in lists] if gendered else None
    internet = own_provider(fake, "free_email_domain", Internet)
    data["email_domains"] = elements(internet.free_email_domains) if internet is not None else None
    address = own_provider(fake, "zipcode_in_state", UsAddress, "postcode_in_state")
    data["postcodes"] = ({s: tuple(r) for s, r in address.states_postcode.items() if s in address.known_usps_abbr}
                         if address is not None else None)
    cards = own_provider(fake, "credit_card_number", Cards, "_credit_card_type", "_generate_number")
    data["cards"] = None
    if cards is not None and cards.credit_card_types:
        types = list(cards.credit_card_types.values())
        combos = [(str(prefix), card.length, 1 / len(types) / len(card.prefixes))
                  for card in types for prefix in card.prefixes]
        if all(set(p) <= set("0123456789#%$") and len(p) < length for p, length, _ in combos):
            data["cards"] = combos
    bank = own_provider(fake, "iban", Bank, "bban")
    data["iban"] = None
    if bank is not None and set(bank.bban_format) <= set("?#%$0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") \
            and re.fullmatch(r"[A-Z]{2}", bank.country_code):
        data["iban"] = (bank.bban_format, bank.country_code)
    return data


#: Placeholder characters of a template as Faker's numerify reads them: ``#`` any digit, ``%`` 1–9,
#: ``$`` 2–9; with ``letters``, ``?`` an upper-case letter (Faker's BBAN formats).
SLOTS = {"#": 1, "%": 2, "$": 3}
SLOT_RANGES = {1: (48, 10), 2: (49, 9), 3: (50, 8), 4: (65, 26)}


def template_codes(template: str, letters: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, kinds)`` of one template (1 × width), to be indexed to as many rows as wanted."""
    slots = {**SLOTS, "?": 4} if letters else SLOTS
    codes = np.array([[ord(c) for c in template]], dtype=np.uint32)
    kinds = np.array([[slots.get(c, 0) for c in template]], dtype=np.uint8)
    return codes, kinds


def fresh_digits(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of ``values`` (NUL-padded) with every ASCII digit marked to be drawn again (the first
    digit of a number stays non-zero when it was: "725 Long Brook" → "3 Lo…" never "025 …")."""
    width = max(1, max(len(v) for v in values))
    codes = np.array(values, dtype=f"<U{width}").view(np.uint32).reshape(len(values), width).copy()
    digit = (codes >= 48) & (codes <= 57)
    first = digit & ~np.concatenate([np.zeros((len(values), 1), dtype=bool), digit[:, :-1]], axis=1)
    kinds = np.where(digit, np.where(first & (codes != 48), 2, 1), 0).astype(np.uint8)
    return codes, kinds


def draw(codes: np.ndarray, kinds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``codes`` (rows × width) with every placeholder slot replaced by a random character."""
    out = codes.astype(np.uint32, copy=True)
    for kind, (low, count) in SLOT_RANGES.items():
        slots = kinds == kind
        total = int(slots.sum())
        if total:
            out[slots] = low + rng.integers(0, count, total)
    return out


def code_strings(codes: np.ndarray) -> list[str]:
    if not len(codes):
        return []
    return np.ascontiguousarray(codes, dtype=np.uint32).view(f"<U{codes.shape[1]}").ravel().tolist()


def luhn_check(digits: np.ndarray) -> np.ndarray:
    """The Luhn check digit of each row of ``digits`` (integers 0–9, rows × the number without its check)."""
    reverse = digits.astype(np.int64)[:, ::-1]  # from the right, the check digit's neighbour first
    doubled = reverse[:, 0::2] * 2
    total = np.where(doubled > 9, doubled - 9, doubled).sum(axis=1) + reverse[:, 1::2].sum(axis=1)
    return (10 - total % 10) % 10


def mod97(columns) -> np.ndarray:
    """ISO 7064 mod-97 remainder per row of code points given column by column (digits, and upper-case
    letters as 10–35), as an IBAN's check is computed."""
    remainder = np.int64(0)
    for column in columns:
        column = np.asarray(column, dtype=np.int64)
        letter = column >= 65
        remainder = np.where(letter, remainder * 100 + column - 55, remainder * 10 + column - 48) % 97
    return remainder


def card_maker(combos: list[tuple[str, int, float]], rng: np.random.Generator):
    """Faker's ``credit_card_number``: a card type, one of its prefixes, random digits and the Luhn check
    digit, for all rows at once."""
    weights = np.cumsum([w for _, _, w in combos])
    plans = [template_codes(prefix + "#" * (length - len(prefix) - 1)) for prefix, length, _ in combos]

    def make(rows, attempt):
        chosen = np.minimum(np.searchsorted(weights, rng.random(len(rows)) * weights[-1], side="right"),
                            len(combos) - 1)
        out = np.empty(len(rows), dtype=object)
        for c in np.unique(chosen):
            where = np.flatnonzero(chosen == c)
            codes, kinds = plans[c]
            index = np.zeros(len(where), dtype=np.intp)
            body = draw(codes[index], kinds[index], rng)
            check = luhn_check(body.astype(np.int64) - 48)
            out[where] = code_strings(np.concatenate([body, (48 + check)[:, None].astype(np.uint32)], axis=1))
        return out.tolist()
    return make


def iban_maker(bban_format: str, country: str, rng: np.random.Generator):
    """Faker's ``iban``: a BBAN of the locale's format and ISO 7064 mod-97 check digits, for all rows."""
    codes, kinds = template_codes(bban_format, letters=True)
    tail = np.array([ord(c) for c in country + "00"], dtype=np.int64)

    def make(rows, attempt):
        index = np.zeros(len(rows), dtype=np.intp)
        bban = draw(codes[index], kinds[index], rng)
        check = 98 - mod97([*bban.astype(np.int64).T, *(np.full(len(rows), c) for c in tail)])
        return [f"{country}{c:02d}{b}" for c, b in zip(check.tolist(), code_strings(bban))]
    return make


def ip_maker(rng: np.random.Generator):
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


def years_before(day: date, years: int) -> date:
    """``day`` ``years`` earlier; 29 February becomes 1 March in a common year (as Faker's change_year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28) + timedelta(days=1)
