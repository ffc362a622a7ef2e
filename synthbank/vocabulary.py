"""synthbank's words, defined once: table modes, column sdtypes and personal-data kinds.

Each is a :class:`enum.StrEnum`, so a member equals its word (``TableMode.COPY == "copy"``) and schema
files, JSON and YAML keep plain strings; code compares against the members, never against a literal.
"""

from __future__ import annotations

from enum import StrEnum


class TableMode(StrEnum):
    """How the relational engine treats a table (``mode:`` per table in a schema file)."""

    SYNTHESIZE = "synthesize"  # learned and sampled
    COPY = "copy"  # written as it is (lookup tables), PII columns refilled
    SUBSET = "subset"  # a random share of its rows written as they are
    EXCLUDE = "exclude"  # left out of the target


#: Tables written as real rows (no model learns them).
FIXED_MODES = frozenset({TableMode.COPY, TableMode.SUBSET})


class TableModel(StrEnum):
    """How one table's columns are drawn inside HMA's hierarchy (see ``relational.table_models``)."""

    COPULA = "copula"
    TREES = "trees"
    ARF = "arf"
    CTGAN = "ctgan"
    TVAE = "tvae"


TABLE_MODELS = tuple(m.value for m in TableModel)


class SdType(StrEnum):
    """How synthbank treats a column."""

    ID = "id"  # a key or an identifier; regenerated, never learned
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    PII = "pii"  # personal data; never learned, Faker fills it
    TEXT = "text"  # free text; written by the text engine
    UNSUPPORTED = "unsupported"  # json, binary, arrays: written as NULL


#: The sdtypes whose values a model learns (numbers, categories, instants, flags).
LEARNED_SDTYPES = frozenset({SdType.NUMERICAL, SdType.CATEGORICAL, SdType.DATETIME, SdType.BOOLEAN})
#: Learned sdtypes whose values are labels (encoded as categories).
CATEGORY_SDTYPES = frozenset({SdType.CATEGORICAL, SdType.BOOLEAN})


class PiiKind(StrEnum):
    """The personal-data kinds synthbank recognises; each has a fake-value generator."""

    NAME = "name"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"
    PHONE = "phone"
    SSN = "ssn"
    ADDRESS = "address"
    STREET_ADDRESS = "street_address"
    CITY = "city"
    ZIPCODE = "zipcode"
    DATE_OF_BIRTH = "date_of_birth"
    ACCOUNT_NUMBER = "account_number"
    CARD_NUMBER = "card_number"
    IBAN = "iban"
    IP_ADDRESS = "ip_address"
    USERNAME = "username"
    NATIONAL_ID = "national_id"  # a birth number, a national insurance or tax number, a passport number
    IDENTIFIER = "identifier"  # any other code that points at one person or account (a counterparty's number)


#: Kinds too coarse to identify anyone alone (shared by many people): a first name, a city, a birth date.
COARSE_PII_KINDS = frozenset({PiiKind.FIRST_NAME, PiiKind.LAST_NAME, PiiKind.CITY, PiiKind.ZIPCODE,
                              PiiKind.DATE_OF_BIRTH})
#: Kinds written as codes in the source's own format (width, characters, check digits): see
#: :mod:`synthbank.relational.identifier_format`.
IDENTIFIER_PII_KINDS = frozenset({PiiKind.ACCOUNT_NUMBER, PiiKind.CARD_NUMBER, PiiKind.IBAN, PiiKind.NATIONAL_ID,
                                  PiiKind.IDENTIFIER})
#: Kinds that say where someone lives: personal in a table about people, plain data elsewhere (a branch's city).
LOCATION_PII_KINDS = frozenset({PiiKind.ADDRESS, PiiKind.STREET_ADDRESS, PiiKind.CITY, PiiKind.ZIPCODE})
#: Kinds that are (parts of) a person's name.
NAME_PII_KINDS = frozenset({PiiKind.NAME, PiiKind.FIRST_NAME, PiiKind.LAST_NAME})
#: The sdtypes a column keeps in SDV's metadata (keys as ``id``, learned columns as themselves).
SDV_SDTYPES = LEARNED_SDTYPES | {SdType.ID}


class RuleKind(StrEnum):
    """Rules every real row obeys (``rules:`` in a schema file; the evaluation's own rule check uses the same
    words). ``columns`` are of the rule's table unless a kind says otherwise."""

    DECIDES = "decides"  # columns[0] decides columns[1]: each value of the first goes with one value of the second
    ORDER = "order"  # columns[0] <= columns[1] in every row where both are set
    AFTER_PARENT = "after_parent"  # columns[0] >= the ``parent_column`` of the row reached through ``path``
    NULL_TOGETHER = "null_together"  # the columns are NULL in the same rows
    PRECISION = "precision"  # columns[0] has ``decimals`` decimal places and heaps on the round ``steps``
    SUM = "sum"  # columns[0] = the sum of the other columns, within rounding
