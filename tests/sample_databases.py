"""Real-shaped sample databases written into any SQLAlchemy URL (SQLite, PostgreSQL, MariaDB/MySQL).

Each builder creates its tables with the DDL a real application would have and fills them with a few
hundred rows whose types are the awkward ones real databases hold:

- ``music_shop`` (shaped like Chinook): artists → albums → tracks, genres, media types, invoices and
  invoice lines, customers served by employees, ``employees.reports_to`` pointing at another employee, and
  a playlist ↔ track many-to-many link with a composite key. Prices are ``NUMERIC(10,2)``; on SQLite the
  invoice dates are ISO-8601 strings ending in ``Z`` and the hire dates ``YYYY-MM-DD 00:00:00`` strings;
  birth dates are before 1970.
- ``hr`` (shaped like the MySQL "employees" sample): departments with natural string keys (``d001``),
  employees, dept_emp / dept_manager / titles / salaries with composite primary keys, shift start times
  (``TIME``), dates before 1970, and a table with no rows.
- ``payments_bank``: customers (names, a segment) → accounts (a rare ``is_flagged`` flag, a mid-level rare
  class: about 4% of accounts, most of them held by business customers and opened recently) → transfers
  (payee names, free-text memos, amounts; a flagged account's transfers are larger and go out by wire
  more often).
- ``flights``: airports keyed by their IATA code, airlines keyed by their two-letter code, flights with
  two foreign keys to airports, a departure time of day, a ``TIMESTAMP WITH TIME ZONE`` (on SQLite
  strings with ``±hh:mm`` offsets, some without), and an airline ↔ airport many-to-many link.

Values are inserted untyped, so SQLite keeps the strings exactly as written and the other drivers get
``datetime``/``date``/``time``/``Decimal`` objects.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import sqlalchemy as sa

UTC = dt.UTC


def _create(url: str, metadata: sa.MetaData, rows: dict[str, list[dict]]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            metadata.drop_all(connection)
            metadata.create_all(connection)
            for table in metadata.sorted_tables:
                records = rows.get(table.name) or []
                if records:
                    plain = sa.table(table.name, *[sa.column(c) for c in records[0]])
                    connection.execute(sa.insert(plain), records)
    finally:
        engine.dispose()


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# --- music shop ------------------------------------------------------------------------------------
MUSIC_TABLES = ["artists", "albums", "genres", "media_types", "tracks", "employees", "customers", "invoices",
                "invoice_lines", "playlists", "playlist_track"]


def music_shop(url: str, seed: int = 0, customers: int = 40) -> None:
    rng = np.random.default_rng(seed)
    sqlite = _is_sqlite(url)
    m = sa.MetaData()
    sa.Table("artists", m, sa.Column("artist_id", sa.Integer, primary_key=True), sa.Column("name", sa.String(120)))
    sa.Table("albums", m, sa.Column("album_id", sa.Integer, primary_key=True), sa.Column("title", sa.String(160), nullable=False),
             sa.Column("artist_id", sa.Integer, sa.ForeignKey("artists.artist_id"), nullable=False))
    sa.Table("genres", m, sa.Column("genre_id", sa.Integer, primary_key=True), sa.Column("name", sa.String(120)))
    sa.Table("media_types", m, sa.Column("media_type_id", sa.Integer, primary_key=True), sa.Column("name", sa.String(120)))
    sa.Table("tracks", m, sa.Column("track_id", sa.Integer, primary_key=True), sa.Column("name", sa.String(200), nullable=False),
             sa.Column("album_id", sa.Integer, sa.ForeignKey("albums.album_id")),
             sa.Column("media_type_id", sa.Integer, sa.ForeignKey("media_types.media_type_id"), nullable=False),
             sa.Column("genre_id", sa.Integer, sa.ForeignKey("genres.genre_id")),
             sa.Column("milliseconds", sa.Integer, nullable=False), sa.Column("bytes", sa.Integer),
             sa.Column("unit_price", sa.Numeric(10, 2), nullable=False))
    sa.Table("employees", m, sa.Column("employee_id", sa.Integer, primary_key=True),
             sa.Column("last_name", sa.String(20), nullable=False), sa.Column("first_name", sa.String(20), nullable=False),
             sa.Column("title", sa.String(30)), sa.Column("reports_to", sa.Integer, sa.ForeignKey("employees.employee_id")),
             sa.Column("birth_date", sa.DateTime), sa.Column("hire_date", sa.DateTime), sa.Column("city", sa.String(40)))
    sa.Table("customers", m, sa.Column("customer_id", sa.Integer, primary_key=True),
             sa.Column("first_name", sa.String(40), nullable=False), sa.Column("last_name", sa.String(20), nullable=False),
             sa.Column("country", sa.String(40)), sa.Column("email", sa.String(60), nullable=False),
             sa.Column("support_rep_id", sa.Integer, sa.ForeignKey("employees.employee_id")))
    sa.Table("invoices", m, sa.Column("invoice_id", sa.Integer, primary_key=True),
             sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
             sa.Column("invoice_date", sa.DateTime, nullable=False), sa.Column("billing_country", sa.String(40)),
             sa.Column("total", sa.Numeric(10, 2), nullable=False))
    sa.Table("invoice_lines", m, sa.Column("invoice_line_id", sa.Integer, primary_key=True),
             sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.invoice_id"), nullable=False),
             sa.Column("track_id", sa.Integer, sa.ForeignKey("tracks.track_id"), nullable=False),
             sa.Column("unit_price", sa.Numeric(10, 2), nullable=False), sa.Column("quantity", sa.Integer, nullable=False))
    sa.Table("playlists", m, sa.Column("playlist_id", sa.Integer, primary_key=True), sa.Column("name", sa.String(120)))
    sa.Table("playlist_track", m,
             sa.Column("playlist_id", sa.Integer, sa.ForeignKey("playlists.playlist_id"), primary_key=True),
             sa.Column("track_id", sa.Integer, sa.ForeignKey("tracks.track_id"), primary_key=True))

    genres = ["Rock", "Jazz", "Metal", "Alternative & Punk", "Blues", "Latin", "Classical", "Pop"]
    media = ["MPEG audio file", "Protected AAC audio file", "AAC audio file"]
    rows: dict[str, list[dict]] = {
        "artists": [{"artist_id": i + 1, "name": f"Band {i + 1}"} for i in range(30)],
        "genres": [{"genre_id": i + 1, "name": g} for i, g in enumerate(genres)],
        "media_types": [{"media_type_id": i + 1, "name": x} for i, x in enumerate(media)],
        "playlists": [{"playlist_id": i + 1, "name": n} for i, n in enumerate(["Music", "Movies", "90's Music", "Grunge", "Classical"])],
    }
    rows["albums"] = [{"album_id": i + 1, "title": f"Album {i + 1}", "artist_id": int(rng.integers(1, 31))} for i in range(60)]
    tracks = []
    for i in range(300):
        genre = int(rng.choice(8, p=[.35, .15, .15, .1, .08, .07, .05, .05])) + 1
        tracks.append({"track_id": i + 1, "name": f"Track {i + 1}", "album_id": int(rng.integers(1, 61)),
                       "media_type_id": int(rng.choice(3, p=[.8, .15, .05])) + 1, "genre_id": genre,
                       "milliseconds": int(rng.normal(240_000 if genre != 7 else 420_000, 50_000)),
                       "bytes": int(rng.normal(8_000_000, 2_000_000)),
                       "unit_price": Decimal("0.99") if rng.random() < 0.9 else Decimal("1.99")})
    rows["tracks"] = tracks
    titles = ["General Manager", "Sales Manager", "IT Manager", "Sales Support Agent", "Sales Support Agent",
              "Sales Support Agent", "IT Staff", "IT Staff"]
    bosses = [None, 1, 1, 2, 2, 2, 3, 3]
    employees = []
    for i in range(8):
        born = dt.datetime(1947 + int(rng.integers(0, 30)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
        hired = dt.datetime(2002 + int(rng.integers(0, 3)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
        employees.append({"employee_id": i + 1, "last_name": f"Last{i}", "first_name": f"First{i}", "title": titles[i],
                          "reports_to": bosses[i], "city": ["Calgary", "Edmonton", "Lethbridge"][i % 3],
                          "birth_date": born.strftime("%Y-%m-%d %H:%M:%S") if sqlite else born,
                          "hire_date": hired.strftime("%Y-%m-%d %H:%M:%S") if sqlite else hired})
    rows["employees"] = employees
    countries = ["USA", "Canada", "France", "Brazil", "Germany", "United Kingdom"]
    rows["customers"] = [{"customer_id": i + 1, "first_name": f"Cfirst{i}", "last_name": f"Clast{i}",
                          "country": str(rng.choice(countries, p=[.3, .2, .15, .15, .1, .1])),
                          "email": f"customer{i}@example.org", "support_rep_id": int(rng.integers(4, 7))}
                         for i in range(customers)]
    invoices, lines = [], []
    price = {t["track_id"]: t["unit_price"] for t in tracks}
    for i in range(customers * 4):
        customer = rows["customers"][int(rng.integers(0, customers))]
        moment = dt.datetime(2021, 1, 1, tzinfo=UTC) + dt.timedelta(days=int(rng.integers(0, 1000)), hours=int(rng.integers(8, 20)),
                                                                    minutes=int(rng.integers(0, 4)) * 15)
        picked = rng.choice(300, size=int(rng.integers(1, 6)), replace=False) + 1
        total = Decimal(0)
        for track in picked:
            lines.append({"invoice_line_id": len(lines) + 1, "invoice_id": i + 1, "track_id": int(track),
                          "unit_price": price[int(track)], "quantity": 1})
            total += price[int(track)]
        invoices.append({"invoice_id": i + 1, "customer_id": customer["customer_id"], "billing_country": customer["country"],
                         "invoice_date": moment.strftime("%Y-%m-%dT%H:%M:%SZ") if sqlite else moment.replace(tzinfo=None),
                         "total": total})
    rows["invoices"], rows["invoice_lines"] = invoices, lines
    pairs = {(int(rng.integers(1, 6)), int(rng.integers(1, 301))) for _ in range(220)}
    rows["playlist_track"] = [{"playlist_id": p, "track_id": t} for p, t in sorted(pairs)]
    if sqlite:
        for table in rows.values():
            for record in table:
                for key, value in record.items():
                    if isinstance(value, Decimal):
                        record[key] = float(value)
    _create(url, m, rows)


# --- HR --------------------------------------------------------------------------------------------
HR_TABLES = ["departments", "employees", "dept_emp", "dept_manager", "titles", "salaries", "shifts", "dept_budget"]


def hr(url: str, seed: int = 0, employees: int = 80) -> None:
    rng = np.random.default_rng(seed)
    sqlite = _is_sqlite(url)
    m = sa.MetaData()
    sa.Table("departments", m, sa.Column("dept_no", sa.String(4), primary_key=True),
             sa.Column("dept_name", sa.String(40), nullable=False, unique=True))
    sa.Table("employees", m, sa.Column("emp_no", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("birth_date", sa.Date, nullable=False), sa.Column("first_name", sa.String(14), nullable=False),
             sa.Column("last_name", sa.String(16), nullable=False), sa.Column("gender", sa.String(1), nullable=False),
             sa.Column("hire_date", sa.Date, nullable=False))
    sa.Table("dept_emp", m, sa.Column("emp_no", sa.Integer, sa.ForeignKey("employees.emp_no"), primary_key=True),
             sa.Column("dept_no", sa.String(4), sa.ForeignKey("departments.dept_no"), primary_key=True),
             sa.Column("from_date", sa.Date, nullable=False), sa.Column("to_date", sa.Date, nullable=False))
    sa.Table("dept_manager", m, sa.Column("emp_no", sa.Integer, sa.ForeignKey("employees.emp_no"), primary_key=True),
             sa.Column("dept_no", sa.String(4), sa.ForeignKey("departments.dept_no"), primary_key=True),
             sa.Column("from_date", sa.Date, nullable=False), sa.Column("to_date", sa.Date, nullable=False))
    sa.Table("titles", m, sa.Column("emp_no", sa.Integer, sa.ForeignKey("employees.emp_no"), primary_key=True),
             sa.Column("title", sa.String(50), primary_key=True), sa.Column("from_date", sa.Date, primary_key=True),
             sa.Column("to_date", sa.Date))
    sa.Table("salaries", m, sa.Column("emp_no", sa.Integer, sa.ForeignKey("employees.emp_no"), primary_key=True),
             sa.Column("salary", sa.Integer, nullable=False), sa.Column("from_date", sa.Date, primary_key=True),
             sa.Column("to_date", sa.Date, nullable=False))
    sa.Table("shifts", m, sa.Column("shift_id", sa.Integer, primary_key=True),
             sa.Column("emp_no", sa.Integer, sa.ForeignKey("employees.emp_no"), nullable=False),
             sa.Column("day", sa.Date, nullable=False), sa.Column("starts_at", sa.Time, nullable=False),
             sa.Column("hours", sa.Numeric(4, 1), nullable=False))
    sa.Table("dept_budget", m, sa.Column("dept_no", sa.String(4), sa.ForeignKey("departments.dept_no"), primary_key=True),
             sa.Column("year", sa.Integer, primary_key=True), sa.Column("amount", sa.Numeric(14, 2), nullable=False))

    def day(value: dt.date):
        return value.isoformat() if sqlite else value

    names = ["Marketing", "Finance", "Human Resources", "Production", "Development", "Quality Management", "Sales",
             "Research", "Customer Service"]
    rows: dict[str, list[dict]] = {"departments": [{"dept_no": f"d{i + 1:03d}", "dept_name": n} for i, n in enumerate(names)]}
    people, dept_emp, titles, salaries, shifts = [], [], [], [], []
    for i in range(employees):
        emp_no = 10001 + i
        born = dt.date(1952, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 13)))
        hired = dt.date(1985, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 15)))
        people.append({"emp_no": emp_no, "birth_date": day(born), "first_name": f"F{i}", "last_name": f"L{i}",
                       "gender": "M" if rng.random() < 0.6 else "F", "hire_date": day(hired)})
        dept = f"d{int(rng.choice(9, p=[.05, .05, .05, .25, .25, .05, .15, .05, .1])) + 1:03d}"
        dept_emp.append({"emp_no": emp_no, "dept_no": dept, "from_date": day(hired), "to_date": day(dt.date(9999, 1, 1))})
        salary, start = int(rng.normal(55_000, 12_000)), hired
        for _ in range(int(rng.integers(1, 5))):
            end = start + dt.timedelta(days=365)
            salaries.append({"emp_no": emp_no, "salary": salary, "from_date": day(start), "to_date": day(end)})
            salary, start = int(salary * rng.uniform(1.0, 1.08)), end
        titles.append({"emp_no": emp_no, "title": "Engineer" if dept == "d005" else "Staff", "from_date": day(hired),
                       "to_date": None})
        for _ in range(int(rng.integers(0, 4))):
            start_time = dt.time(int(rng.choice([6, 8, 9, 14, 22])), int(rng.choice([0, 30])))
            shifts.append({"shift_id": len(shifts) + 1, "emp_no": emp_no,
                           "day": day(dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300)))),
                           "starts_at": start_time.strftime("%H:%M:%S") if sqlite else start_time,
                           "hours": float(rng.choice([4.0, 7.5, 8.0])) if sqlite else Decimal(str(rng.choice([4.0, 7.5, 8.0])))})
    rows.update(employees=people, dept_emp=dept_emp, titles=titles, salaries=salaries, shifts=shifts)
    managers = rng.choice(employees, size=9, replace=False)
    rows["dept_manager"] = [{"emp_no": 10001 + int(e), "dept_no": f"d{k + 1:03d}", "from_date": day(dt.date(1990, 1, 1)),
                             "to_date": day(dt.date(9999, 1, 1))} for k, e in enumerate(managers)]
    _create(url, m, rows)


# --- flights ---------------------------------------------------------------------------------------
FLIGHT_TABLES = ["airports", "airlines", "airline_airports", "flights"]
AIRPORTS = [("JFK", "New York", -300), ("LGA", "New York", -300), ("EWR", "Newark", -300), ("ATL", "Atlanta", -300),
            ("ORD", "Chicago", -360), ("DFW", "Dallas", -360), ("DEN", "Denver", -420), ("LAX", "Los Angeles", -480),
            ("SFO", "San Francisco", -480), ("SEA", "Seattle", -480), ("MIA", "Miami", -300), ("BOS", "Boston", -300),
            ("LHR", "London", 0), ("CDG", "Paris", 60), ("FRA", "Frankfurt", 60), ("NRT", "Tokyo", 540)]


def flights(url: str, seed: int = 0, n_flights: int = 300) -> None:
    rng = np.random.default_rng(seed)
    sqlite = _is_sqlite(url)
    m = sa.MetaData()
    sa.Table("airports", m, sa.Column("iata", sa.String(3), primary_key=True), sa.Column("city", sa.String(40), nullable=False),
             sa.Column("utc_offset_minutes", sa.Integer, nullable=False), sa.Column("altitude_ft", sa.Integer))
    sa.Table("airlines", m, sa.Column("carrier", sa.String(2), primary_key=True), sa.Column("name", sa.String(60), nullable=False))
    sa.Table("airline_airports", m, sa.Column("carrier", sa.String(2), sa.ForeignKey("airlines.carrier"), primary_key=True),
             sa.Column("iata", sa.String(3), sa.ForeignKey("airports.iata"), primary_key=True),
             sa.Column("since", sa.Date))
    sa.Table("flights", m, sa.Column("flight_id", sa.Integer, primary_key=True),
             sa.Column("carrier", sa.String(2), sa.ForeignKey("airlines.carrier"), nullable=False),
             sa.Column("origin", sa.String(3), sa.ForeignKey("airports.iata"), nullable=False),
             sa.Column("dest", sa.String(3), sa.ForeignKey("airports.iata"), nullable=False),
             sa.Column("dep_time", sa.Time), sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
             sa.Column("distance_mi", sa.Numeric(8, 1)), sa.Column("delay_min", sa.Integer))
    airlines = [("AA", "American Airlines"), ("DL", "Delta Air Lines"), ("UA", "United Airlines"), ("B6", "JetBlue"),
                ("WN", "Southwest")]
    rows: dict[str, list[dict]] = {
        "airports": [{"iata": code, "city": city, "utc_offset_minutes": off, "altitude_ft": int(rng.integers(0, 5400))}
                     for code, city, off in AIRPORTS],
        "airlines": [{"carrier": c, "name": n} for c, n in airlines],
    }
    links = {(c, code) for c, _ in airlines for code, _, _ in AIRPORTS if rng.random() < 0.5}
    rows["airline_airports"] = [{"carrier": c, "iata": a,
                                 "since": (dt.date(1960, 1, 1) + dt.timedelta(days=int(rng.integers(0, 20000)))).isoformat()
                                 if sqlite else dt.date(1960, 1, 1) + dt.timedelta(days=int(rng.integers(0, 20000)))}
                                for c, a in sorted(links)]
    offsets = {code: off for code, _, off in AIRPORTS}
    hubs = ["JFK", "LGA", "EWR"]
    records = []
    for i in range(n_flights):
        origin = str(rng.choice(hubs, p=[.45, .3, .25]))
        dest = str(rng.choice([a for a, _, _ in AIRPORTS if a not in hubs]))
        local = dt.datetime(2024, 1, 1, int(rng.integers(5, 23)), int(rng.choice([0, 15, 30, 45]))) + dt.timedelta(days=int(rng.integers(0, 365)))
        zone = dt.timezone(dt.timedelta(minutes=offsets[origin]))
        moment = local.replace(tzinfo=zone)
        if sqlite:  # offsets as written by an application; one in ten without any
            scheduled = moment.isoformat() if rng.random() < 0.9 else local.isoformat(sep=" ")
        else:
            scheduled = moment
        dep = (local + dt.timedelta(minutes=int(rng.integers(-5, 60)))).time() if rng.random() < 0.95 else None
        records.append({"flight_id": i + 1, "carrier": str(rng.choice([c for c, _ in airlines])), "origin": origin, "dest": dest,
                        "dep_time": (dep.strftime("%H:%M:%S") if dep else None) if sqlite else dep,
                        "scheduled_at": scheduled, "distance_mi": round(float(rng.uniform(200, 3000)), 1),
                        "delay_min": int(max(-10, rng.normal(10, 25)))})
    rows["flights"] = records
    _create(url, m, rows)


# --- a bank with flagged accounts, payees and memos ------------------------------------------------------
PAYMENTS_TABLES = ["customers", "accounts", "transfers"]
_FIRST = ["Anna", "Ben", "Carla", "David", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca"]
_LAST = ["Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Huber", "Ivanova", "Jansen", "Kowalski"]
_PAYEES = ["City Power", "Green Grocers", "Metro Rail", "Northwind Rent", "Blue Telecom", "Harbor Insurance",
           "Alpine Fitness", "Quick Fuel"]


def payments_bank(url: str, seed: int = 0, customers: int = 600) -> None:
    rng = np.random.default_rng(seed)
    sqlite = _is_sqlite(url)
    m = sa.MetaData()
    sa.Table("customers", m, sa.Column("customer_id", sa.Integer, primary_key=True),
             sa.Column("full_name", sa.String(80), nullable=False), sa.Column("segment", sa.String(20), nullable=False),
             sa.Column("age", sa.Integer), sa.Column("monthly_income", sa.Numeric(10, 2)))
    sa.Table("accounts", m, sa.Column("account_id", sa.Integer, primary_key=True),
             sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
             sa.Column("account_type", sa.String(20), nullable=False), sa.Column("opened_on", sa.Date, nullable=False),
             sa.Column("balance", sa.Numeric(12, 2)), sa.Column("is_flagged", sa.Boolean, nullable=False))
    sa.Table("transfers", m, sa.Column("transfer_id", sa.Integer, primary_key=True),
             sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.account_id"), nullable=False),
             sa.Column("payee", sa.String(80)), sa.Column("channel", sa.String(10), nullable=False),
             sa.Column("amount", sa.Numeric(12, 2), nullable=False), sa.Column("memo", sa.Text))
    rows: dict[str, list[dict]] = {"customers": [], "accounts": [], "transfers": []}
    account_id = transfer_id = 0
    for c in range(1, customers + 1):
        segment = str(rng.choice(["retail", "premium", "business"], p=[0.6, 0.25, 0.15]))
        age = int(rng.integers(19, 85))
        income = float(rng.lognormal(8.6 if segment != "business" else 9.4, 0.4))
        rows["customers"].append({"customer_id": c, "full_name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                                  "segment": segment, "age": age, "monthly_income": round(income, 2)})
        for _ in range(int(rng.integers(1, 4))):
            account_id += 1
            opened = dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3600)))
            recent = opened.year >= 2023
            flagged = bool(rng.random() < (0.16 if segment == "business" else 0.015) * (2.0 if recent else 0.7))
            rows["accounts"].append({"account_id": account_id, "customer_id": c,
                                     "account_type": str(rng.choice(["checking", "savings", "card"], p=[0.55, 0.3, 0.15])),
                                     "opened_on": opened.isoformat() if sqlite else opened,
                                     "balance": round(float(rng.lognormal(7.5, 1.0)), 2), "is_flagged": flagged})
            for _ in range(int(rng.integers(2, 9))):
                transfer_id += 1
                wire = rng.random() < (0.6 if flagged else 0.1)
                amount = float(rng.lognormal(7.2 if flagged else 4.5, 0.6))
                payee = str(rng.choice(_PAYEES)) if rng.random() < 0.8 else f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
                memo = (f"Payment to {payee} for {rng.choice(['rent', 'groceries', 'invoice', 'services', 'a loan'])}"
                        if rng.random() < 0.7 else None)
                rows["transfers"].append({"transfer_id": transfer_id, "account_id": account_id, "payee": payee,
                                          "channel": "wire" if wire else str(rng.choice(["card", "sepa", "instant"])),
                                          "amount": round(amount, 2), "memo": memo})
    _create(url, m, rows)


BUILDERS = {"music_shop": (music_shop, MUSIC_TABLES), "hr": (hr, HR_TABLES), "flights": (flights, FLIGHT_TABLES),
            "payments_bank": (payments_bank, PAYMENTS_TABLES)}
