"""Reading training data and writing corpora for ``synthbank complaints train|generate``.

Training data comes from a file (CSV, JSON lines, Parquet — a path or an http(s) URL) or a table of a
database URL (read-only). PII columns are found with the same rules as ``synthbank schema``; their values
are scrubbed from the texts before training.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from synthbank.errors import SynthbankError
from synthbank.text.distributed import generate_in_chunks

_FILE_READERS = {
    ".csv": pd.read_csv, ".jsonl": lambda p: pd.read_json(p, lines=True), ".json": pd.read_json,
    ".parquet": pd.read_parquet,
}
CORPUS_FORMATS = (".jsonl", ".csv", ".parquet")


def _suffix(name: str) -> str:
    suffixes = Path(name.split("?")[0]).suffixes
    suffixes = [s for s in suffixes if s not in (".gz", ".bz2", ".xz", ".zip")]
    return suffixes[-1].lower() if suffixes else ""


def is_database_url(source: str) -> bool:
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    return bool(scheme) and scheme not in ("http", "https", "file", "s3", "gs")


def read_training_data(source: str, table: str | None = None) -> tuple[pd.DataFrame, dict[str, list]]:
    """Rows of ``source`` and, per PII kind, the values of its PII columns."""
    if is_database_url(source) or (table and Path(source).suffix.lower() in (".db", ".sqlite", ".sqlite3")):
        return _read_database(source, table)
    suffix = _suffix(source)
    if suffix not in _FILE_READERS:
        raise SynthbankError(f"Cannot read '{source}': use a .csv, .jsonl, .json or .parquet file, or a database URL with table=.")
    if "://" not in source and not Path(source).is_file():
        raise SynthbankError(f"The data file '{source}' does not exist.")
    try:
        frame = _FILE_READERS[suffix](source)
    except UnicodeDecodeError:
        raise SynthbankError(f"'{source}' is not UTF-8 text.") from None
    except Exception as error:  # pandas raises many kinds for unreadable files
        raise SynthbankError(f"Cannot read '{source}': {str(error).splitlines()[0]}") from None
    return frame, _pii_values(frame)


def _pii_values(frame: pd.DataFrame) -> dict[str, list]:
    from synthbank.schemas.detect import detect_column

    values: dict[str, list] = {}
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        _, kind = detect_column(str(column), "text", frame[column].dropna().head(1000), is_key=False)
        if kind:
            values.setdefault(kind, []).extend(frame[column].dropna().astype(str).tolist())
    return values


def _read_database(url: str, table: str | None) -> tuple[pd.DataFrame, dict[str, list]]:
    from synthbank.io.reader import read_tables
    from synthbank.schemas.reflect import reflect_schema

    schema = reflect_schema(url)
    if table is None:
        if len(schema.tables) != 1:
            raise SynthbankError(f"The database has {len(schema.tables)} tables: name one with table= "
                                 f"({', '.join(schema.tables)}).")
        table = next(iter(schema.tables))
    if table not in schema.tables:
        raise SynthbankError(f"The database has no table '{table}' (it has: {', '.join(schema.tables)}).")
    tables = read_tables(url, schema, [table])
    frame = tables[table]
    values: dict[str, list] = {}
    for name in schema.tables[table].columns_of("pii"):
        kind = schema.tables[table].columns[name].pii or "name"
        values.setdefault(kind, []).extend(frame[name].dropna().astype(str).tolist())
    return frame, values


def check_corpus_path(out: str) -> str:
    suffix = _suffix(out)
    if suffix not in CORPUS_FORMATS:
        raise SynthbankError(f"out= must end in {', '.join(CORPUS_FORMATS)}, got '{out}'.")
    return suffix


def write_corpus(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write ``frame`` as JSON lines, CSV or Parquet (by suffix), replacing ``out`` only when complete."""
    out = Path(out)
    suffix = check_corpus_path(str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        if suffix == ".jsonl":
            frame.to_json(partial, orient="records", lines=True, force_ascii=False, date_format="iso")
        elif suffix == ".csv":
            frame.to_csv(partial, index=False)
        else:
            frame.to_parquet(partial, index=False)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


# --- the two jobs behind `synthbank complaints train|generate` ----------------------------------------
def train_text_model(source: str, text_column: str, context_columns: list[str], model_dir: str | Path, *,
                     table: str | None = None, progress=None, **options):
    """Fit a :class:`TextSynthesizer` on a file or database table and save it to ``model_dir``."""
    from synthbank.files import check_replaceable
    from synthbank.text.synthesizer import TextSynthesizer

    check_replaceable(model_dir)  # before training: never replace a folder that is not a synthbank model
    frame, pii = read_training_data(source, table)
    synthesizer = TextSynthesizer(**options).fit(frame, text_column, context_columns, pii_values=pii, progress=progress)
    synthesizer.save(model_dir)
    return synthesizer


def _load_text_model(model_dir: str | Path, device: str | None):
    """A saved text model, checked first: a damaged or half-written directory gives one sentence."""
    from synthbank.files import verify_model_directory
    from synthbank.text.synthesizer import TextSynthesizer

    verify_model_directory(model_dir, "text")
    try:
        return TextSynthesizer.load(model_dir, device=device)
    except SynthbankError:
        raise
    except (ValueError, KeyError, TypeError, EOFError) as exc:  # damaged JSON or adapter files
        raise SynthbankError(f"The text model in '{model_dir}' cannot be loaded ({exc.__class__.__name__}); "
                             "it is damaged or from an incompatible version.") from None


def generate_corpus(model_dir: str | Path, out: str | Path | None = None, *, n: int | None = None,
                    where: dict | None = None, context_from: str | None = None, seed: int = 0,
                    progress=None, device: str | None = None, executor=None, **generation) -> pd.DataFrame:
    """Generate texts from a saved model: for the rows of ``context_from`` (a file), or for ``n`` contexts
    sampled from the training frequencies (``where`` fixes fields). Writes ``out`` when given. ``executor``
    spreads the chunks of texts over worker processes or Ray actors (:mod:`synthbank.text.distributed`)."""

    if out is not None:
        check_corpus_path(str(out))
    if context_from is None and n is None:
        raise SynthbankError("Give the number of texts (n=) or context rows (context_from=).")
    synthesizer = _load_text_model(model_dir, device)
    if context_from is not None:
        context, _ = read_training_data(context_from)
        for column, value in (where or {}).items():
            if column not in context.columns:
                raise SynthbankError(f"where= names '{column}', which {context_from} does not have.")
            context = context[context[column].astype(str) == str(value)]
        context = context.head(n) if n is not None else context
    else:
        context = synthesizer.sample_context(n, seed=seed, where=where)
    texts = generate_in_chunks(synthesizer, context, seed=seed, executor=executor, progress=progress,
                               label=synthesizer.text_column_, **generation)
    corpus = context[[c for c in synthesizer.context_columns_ if c in context.columns]].copy()
    corpus[synthesizer.text_column_] = texts.to_numpy()
    corpus = corpus[corpus[synthesizer.text_column_].notna()].reset_index(drop=True)
    if out is not None:
        write_corpus(corpus, out)
    return corpus
