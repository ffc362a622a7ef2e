"""A core-banking database shaped like a legacy Central-European bank (the PKDD'99 Berka layout and its
successors), written into any SQLAlchemy URL.

What real core-banking systems hold and a clone must survive:

- ``branches``: a branch table whose ``city`` and ``region`` describe the bank, not a person;
- ``customers``: Czech names and streets, a 6-digit ``birth_number`` (YYMMDD, the month + 50 for women),
  ``since`` as a ``yyyymmdd`` integer;
- ``accounts``: an 8-digit ``account_no`` string (unique) and a valid Czech ``iban`` (UNIQUE, not the key),
  ``opened`` as a ``yyyymmdd`` integer;
- ``cards``: Luhn-valid card numbers;
- ``standing_orders``: other banks' 8-digit account numbers (``account_to``, 300 counterparties that
  repeat), with a bank code;
- ``transactions``: a counterparty account (8 digits in a ``VARCHAR(10)``, NULL for cash), a ``yyyymmdd``
  date;
- ``transfers``: a foreign key to ``accounts.iban`` (a natural key), external IBANs as counterparties;
- ``documents``: a ``BLOB`` column of scans.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import sqlalchemy as sa
from faker import Faker
from sample_databases import _create

CORE_BANKING_TABLES = ["branches", "customers", "accounts", "cards", "standing_orders", "transactions",
                       "transfers", "documents"]
_CITIES = [("Praha", "Hlavni mesto Praha"), ("Brno", "Jihomoravsky kraj"), ("Ostrava", "Moravskoslezsky kraj"),
           ("Plzen", "Plzensky kraj"), ("Liberec", "Liberecky kraj"), ("Olomouc", "Olomoucky kraj"),
           ("Usti nad Labem", "Ustecky kraj"), ("Hradec Kralove", "Kralovehradecky kraj"),
           ("Pardubice", "Pardubicky kraj"), ("Zlin", "Zlinsky kraj"), ("Jihlava", "Kraj Vysocina"),
           ("Ceske Budejovice", "Jihocesky kraj")]
_BANKS = ["AB", "CD", "EF", "GH", "IJ", "KL", "MN", "OP", "QR", "ST", "UV", "WX", "YZ"]


def _yyyymmdd(day: dt.date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def czech_iban(bank: str, number: int) -> str:
    """A valid CZ IBAN: bank code (4 digits), 6-digit prefix, 10-digit account, ISO 7064 mod-97 check."""
    bban = f"{bank}{0:06d}{number:010d}"
    rearranged = bban + "1235" + "00"  # C=12 Z=35
    check = 98 - int(rearranged) % 97
    return f"CZ{check:02d}{bban}"


def luhn_card(prefix: str, rng: np.random.Generator, length: int = 16) -> str:
    body = prefix + "".join(str(d) for d in rng.integers(0, 10, length - len(prefix) - 1))
    total = 0
    for i, digit in enumerate(int(c) for c in reversed(body)):
        if i % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return body + str((10 - total % 10) % 10)


def core_banking(url: str, seed: int = 0, customers: int = 300) -> None:
    rng = np.random.default_rng(seed)
    fake = Faker("cs_CZ")
    fake.seed_instance(seed)
    m = sa.MetaData()
    sa.Table("branches", m, sa.Column("branch_id", sa.Integer, primary_key=True),
             sa.Column("city", sa.String(40), nullable=False), sa.Column("region", sa.String(40), nullable=False),
             sa.Column("opened", sa.Integer, nullable=False))
    sa.Table("customers", m, sa.Column("customer_id", sa.Integer, primary_key=True),
             sa.Column("first_name", sa.String(40), nullable=False), sa.Column("last_name", sa.String(40), nullable=False),
             sa.Column("birth_number", sa.String(6), nullable=False), sa.Column("street", sa.String(80)),
             sa.Column("city", sa.String(40)), sa.Column("branch_id", sa.Integer, sa.ForeignKey("branches.branch_id"), nullable=False),
             sa.Column("since", sa.Integer, nullable=False), sa.Column("segment", sa.String(12), nullable=False))
    sa.Table("accounts", m, sa.Column("account_id", sa.Integer, primary_key=True),
             sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
             sa.Column("account_no", sa.String(10), nullable=False, unique=True),
             sa.Column("iban", sa.String(34), nullable=False, unique=True),
             sa.Column("opened", sa.Integer, nullable=False), sa.Column("frequency", sa.String(20), nullable=False),
             sa.Column("balance", sa.Numeric(12, 2)))
    sa.Table("cards", m, sa.Column("card_id", sa.Integer, primary_key=True),
             sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.account_id"), nullable=False),
             sa.Column("card_number", sa.String(19), nullable=False), sa.Column("type", sa.String(10), nullable=False),
             sa.Column("issued", sa.Date, nullable=False))
    sa.Table("standing_orders", m, sa.Column("order_id", sa.Integer, primary_key=True),
             sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.account_id"), nullable=False),
             sa.Column("bank_to", sa.String(2), nullable=False), sa.Column("account_to", sa.String(10), nullable=False),
             sa.Column("amount", sa.Numeric(10, 2), nullable=False), sa.Column("k_symbol", sa.String(10)))
    sa.Table("transactions", m, sa.Column("trans_id", sa.Integer, primary_key=True),
             sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.account_id"), nullable=False),
             sa.Column("date", sa.Integer, nullable=False), sa.Column("type", sa.String(10), nullable=False),
             sa.Column("amount", sa.Numeric(12, 2), nullable=False), sa.Column("bank", sa.String(2)),
             sa.Column("account", sa.String(10)))
    sa.Table("transfers", m, sa.Column("transfer_id", sa.Integer, primary_key=True),
             sa.Column("from_iban", sa.String(34), sa.ForeignKey("accounts.iban"), nullable=False),
             sa.Column("to_iban", sa.String(34), nullable=False), sa.Column("amount", sa.Numeric(12, 2), nullable=False),
             sa.Column("executed", sa.Date, nullable=False))
    sa.Table("documents", m, sa.Column("doc_id", sa.Integer, primary_key=True),
             sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
             sa.Column("kind", sa.String(20), nullable=False), sa.Column("scan", sa.LargeBinary))
    rows: dict[str, list[dict]] = {name: [] for name in CORE_BANKING_TABLES}
    for i, (city, region) in enumerate(_CITIES, start=1):
        rows["branches"].append({"branch_id": i, "city": city, "region": region,
                                 "opened": _yyyymmdd(dt.date(1990, 1, 1) + dt.timedelta(days=int(rng.integers(0, 2000))))})
    # 300 counterparties at other banks, each used by several customers
    counterparties = rng.choice(np.arange(10_000_000, 100_000_000), size=300, replace=False)
    counterparty_banks = rng.choice(_BANKS, size=300)
    popularity = rng.dirichlet(np.full(300, 2.0))
    external_ibans = [czech_iban(f"{int(rng.integers(1000, 9999)):04d}", int(rng.integers(10**8, 10**10))) for _ in range(150)]
    ids = {"account": 0, "card": 0, "order": 0, "trans": 0, "transfer": 0, "doc": 0}
    used_numbers: set[int] = set()
    for c in range(1, customers + 1):
        female = rng.random() < 0.5
        born = dt.date(1935, 1, 1) + dt.timedelta(days=int(rng.integers(0, 60 * 365)))
        month = born.month + (50 if female else 0)
        since = dt.date(1993, 1, 1) + dt.timedelta(days=int(rng.integers(0, 5 * 365)))
        branch = int(rng.integers(1, len(_CITIES) + 1))
        rows["customers"].append({
            "customer_id": c,
            "first_name": fake.first_name_female() if female else fake.first_name_male(),
            "last_name": fake.last_name_female() if female else fake.last_name_male(),
            "birth_number": f"{born.year % 100:02d}{month:02d}{born.day:02d}",
            "street": fake.street_address() if rng.random() < 0.95 else None,
            "city": fake.city(), "branch_id": branch, "since": _yyyymmdd(since),
            "segment": str(rng.choice(["retail", "premium", "business"], p=[0.7, 0.2, 0.1]))})
        if rng.random() < 0.5:
            ids["doc"] += 1
            size = int(rng.integers(200, 2000))
            rows["documents"].append({"doc_id": ids["doc"], "customer_id": c,
                                      "kind": str(rng.choice(["id_card", "passport", "contract"])),
                                      "scan": bytes(rng.integers(0, 256, size, dtype=np.uint8)) if rng.random() < 0.9 else None})
        for _ in range(int(rng.integers(1, 3))):
            ids["account"] += 1
            number = int(rng.integers(10_000_000, 100_000_000))
            while number in used_numbers:
                number = int(rng.integers(10_000_000, 100_000_000))
            used_numbers.add(number)
            opened = since + dt.timedelta(days=int(rng.integers(0, 400)))
            iban = czech_iban("0800", number)
            rows["accounts"].append({"account_id": ids["account"], "customer_id": c, "account_no": f"{number:08d}",
                                     "iban": iban, "opened": _yyyymmdd(opened),
                                     "frequency": str(rng.choice(["monthly", "weekly", "after_transaction"], p=[0.8, 0.1, 0.1])),
                                     "balance": round(float(rng.lognormal(9.5, 1.0)), 2)})
            for _ in range(int(rng.integers(0, 2))):
                ids["card"] += 1
                rows["cards"].append({"card_id": ids["card"], "account_id": ids["account"],
                                      "card_number": luhn_card(str(rng.choice(["4", "51", "52"])), rng),
                                      "type": str(rng.choice(["classic", "gold", "junior"], p=[0.7, 0.2, 0.1])),
                                      "issued": opened + dt.timedelta(days=int(rng.integers(10, 700)))})
            mine = rng.choice(300, size=int(rng.integers(1, 5)), replace=False, p=popularity)
            for k in mine:
                ids["order"] += 1
                rows["standing_orders"].append({"order_id": ids["order"], "account_id": ids["account"],
                                                "bank_to": str(counterparty_banks[k]), "account_to": f"{counterparties[k]:08d}",
                                                "amount": round(float(rng.lognormal(7.5, 0.7)), 0),
                                                "k_symbol": str(rng.choice(["SIPO", "UVER", "POJISTNE", "LEASING"]))})
            for _ in range(int(rng.integers(3, 12))):
                ids["trans"] += 1
                day = opened + dt.timedelta(days=int(rng.integers(0, 900)))
                to_other = rng.random() < 0.6
                k = int(rng.choice(mine)) if to_other else -1
                rows["transactions"].append({"trans_id": ids["trans"], "account_id": ids["account"], "date": _yyyymmdd(day),
                                             "type": "VYDAJ" if to_other or rng.random() < 0.3 else "PRIJEM",
                                             "amount": round(float(rng.lognormal(7.0, 1.0)), 1),
                                             "bank": str(counterparty_banks[k]) if to_other else None,
                                             "account": f"{counterparties[k]:08d}" if to_other else None})
            for _ in range(int(rng.integers(0, 3))):
                ids["transfer"] += 1
                rows["transfers"].append({"transfer_id": ids["transfer"], "from_iban": iban,
                                          "to_iban": str(rng.choice(external_ibans)),
                                          "amount": round(float(rng.lognormal(8.0, 0.8)), 2),
                                          "executed": opened + dt.timedelta(days=int(rng.integers(1, 600)))})
    _create(url, m, rows)
