"""Every contact between synthbank's relational engine and SDV/RDT, in one place.

* :func:`table_encoder` — an RDT ``HyperTransformer`` configured the way SDV configures a table's data
  processor (so the fast engine encodes exactly as SDV's HMA would);
* :func:`fit_copula` / :func:`seed_copula` / :func:`sample_copula` — SDV's ``GaussianCopulaSynthesizer``
  for a single table (roots, leaf models and the parents of the fast engine);
* :func:`fit_hma` / :func:`seed_hma` / :func:`sample_hma` — SDV's own ``HMASynthesizer`` (``engine="sdv"``);
* :func:`save` / :func:`load` — SDV's cloudpickle persistence (a model directory must be trusted);
* :func:`quiet` — SDV's per-model INFO logs and warnings silenced for the duration of a call.

Seeding uses two attributes outside SDV's public API (a single-table synthesizer's ``_set_random_state``
and HMA's ``_numpy_seed`` / ``_table_synthesizers``); if a future SDV drops them, :class:`SdvApiError`
names the SDV version instead of failing deep inside sampling.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings

import numpy as np
import pandas as pd

from synthbank.errors import SynthbankError

_NOISY_LOGGERS = ("SingleTableSynthesizer", "MultiTableSynthesizer", "Metadata", "SingleTableMetadata",
                  "MultiTableMetadata", "sdv", "rdt", "copulas")


class SdvApiError(SynthbankError):
    """The installed SDV lacks something synthbank relies on."""


def sdv_version() -> str:
    import sdv

    return sdv.__version__


@contextlib.contextmanager
def quiet():
    """SDV logs an INFO record per model it builds and warns about things synthbank handles: silence both."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _require(obj, attribute: str, what: str):
    if not hasattr(obj, attribute):
        raise SdvApiError(f"SDV {sdv_version()} has no {what} ('{attribute}'), which synthbank relies on;"
                          " install an SDV version synthbank supports (see pyproject.toml).")
    return getattr(obj, attribute)


# --- encoding ---------------------------------------------------------------------------------------
def table_encoder(sdtypes: dict[str, str], orders: dict[str, list] | None = None):
    """An unfitted RDT ``HyperTransformer`` for a table, with SDV's defaults per sdtype: numbers through a
    ``FloatFormatter`` (mean imputation, NULLs re-drawn at random, learned rounding, clipped to the range
    seen); categories and booleans through a ``UniformEncoder`` (``OrderedUniformEncoder`` where an order
    is given)."""
    from rdt import HyperTransformer
    from rdt.transformers import FloatFormatter, OrderedUniformEncoder, UniformEncoder

    orders = orders or {}
    transformers = {}
    for column, sdtype in sdtypes.items():
        if sdtype == "numerical":
            transformers[column] = FloatFormatter(missing_value_replacement="mean", missing_value_generation="random",
                                                  learn_rounding_scheme=True, enforce_min_max_values=True)
        elif column in orders:
            transformers[column] = OrderedUniformEncoder(order=orders[column])
        else:
            transformers[column] = UniformEncoder()
    encoder = HyperTransformer()
    encoder.set_config({"sdtypes": dict(sdtypes), "transformers": transformers})
    return encoder


def seed_encoder(encoder, seed: int) -> None:
    """Make the encoder's random parts (NULLs re-drawn on the way back) depend on ``seed``."""
    from synthbank import seeding

    for column, transformer in encoder.get_config()["transformers"].items():
        if transformer is not None and hasattr(transformer, "set_random_state"):
            state = np.random.RandomState(seeding.int_seed(seed, "encoder", str(column)))
            transformer.set_random_state(state, "reverse_transform")


# --- single-table Gaussian copulas ------------------------------------------------------------------
def _single_table_metadata(name: str, sdtypes: dict[str, str], key: str | None = None):
    from sdv.metadata import Metadata

    columns = {column: {"sdtype": sdtype} for column, sdtype in sdtypes.items()}
    table = {"columns": columns}
    if key is not None:
        columns[key] = {"sdtype": "id"}
        table["primary_key"] = key
    return Metadata.load_from_dict({"METADATA_SPEC_VERSION": "V1", "tables": {name: table}, "relationships": []})


def fit_copula(frame: pd.DataFrame, sdtypes: dict[str, str], *, default_distribution: str,
               distributions: dict[str, str] | None = None, orders: dict[str, list] | None = None,
               fit_rows: int | None = None, seed: int = 0):
    """SDV's ``GaussianCopulaSynthesizer`` fitted to ``frame`` (every column listed in ``sdtypes``).

    The encoders (RDT) always see every row, so no category is lost. With ``fit_rows``, the copula's
    marginals and correlations are fitted on a seeded random sample of that many encoded rows: a
    parametric marginal's maximum-likelihood fit (SDV's beta) costs about 50 µs per row and column, and a few tens of
    thousands of rows pin a Gaussian copula's parameters down. Columns with a given distribution
    (HMA's extension columns) skip RDT's rounding-scheme search, which would find nothing to round.
    ``default_distribution`` is one of SDV's families or ``"quantiles"``
    (:class:`~synthbank.relational.marginals.QuantileUnivariate`).
    """
    from rdt.transformers import FloatFormatter, OrderedUniformEncoder
    from sdv.single_table import GaussianCopulaSynthesizer

    from synthbank import seeding
    from synthbank.relational import marginals

    distributions = distributions or {}
    quantiles = default_distribution == marginals.NAME
    with quiet():
        synthesizer = GaussianCopulaSynthesizer(_single_table_metadata("table", sdtypes),
                                                default_distribution="beta" if quantiles else default_distribution,
                                                numerical_distributions=distributions or None)
        if quantiles:  # not one of SDV's names: its class is set where SDV keeps the one it looked up
            _require(synthesizer, "_default_distribution", "single-table default distribution")
            synthesizer._default_distribution = marginals.QuantileUnivariate
        synthesizer.auto_assign_transformers({"table": frame})
        updates = {c: OrderedUniformEncoder(order=o) for c, o in (orders or {}).items()}
        updates.update({c: FloatFormatter(missing_value_replacement="mean", missing_value_generation="random",
                                          learn_rounding_scheme=False, enforce_min_max_values=True)
                        for c in distributions})
        if updates:
            synthesizer.update_transformers(updates)
        processed = synthesizer.preprocess({"table": frame})
        if isinstance(processed, dict):
            (processed,) = processed.values()
        if quantiles:
            _spread_imputed(frame, processed, sdtypes, seeding.rng(seed, "copula nulls"))
        if fit_rows is not None and len(processed) > fit_rows:
            rows = np.sort(seeding.rng(seed, "copula rows").choice(len(processed), fit_rows, replace=False))
            processed = processed.iloc[rows]
        synthesizer.fit_processed_data({"table": processed})
    return synthesizer


def _spread_imputed(frame: pd.DataFrame, processed: pd.DataFrame, sdtypes: dict[str, str], rng: np.random.Generator) -> None:
    """RDT fills a number's NULLs with the column's mean before the copula sees it. A parametric marginal
    smears that pile; the quantile marginal would keep it, and give the mean to most of the synthetic
    rows that are not NULL (LendingClub's ``annual_income_joint``, 85% NULL). The filled rows get draws
    from the quantile marginal of the column's other rows instead: interpolated values, not copies of
    anyone's (the NULLs themselves are put back by RDT as before)."""
    from synthbank.relational import marginals

    if len(processed) != len(frame):
        return
    for column, sdtype in sdtypes.items():
        if sdtype not in ("numerical", "datetime") or column not in frame or column not in processed:
            continue
        missing = frame[column].isna().to_numpy()
        if not missing.any() or missing.all():
            continue
        values = processed[column].to_numpy(dtype=float).copy()
        levels, points = marginals.knots(values[~missing])
        values[missing] = np.interp(rng.random(int(missing.sum())), levels, points)
        processed[column] = values


def rounding_digits(synthesizer) -> dict[str, int]:
    """The decimals each numeric column of a fitted copula rounds its output to (RDT's learned scheme)."""
    out = {}
    for column, transformer in synthesizer.get_transformers().items():
        digits = getattr(transformer, "_rounding_digits", None)
        if digits is not None and getattr(transformer, "learn_rounding_scheme", False):
            out[column] = int(digits)
    return out


def seed_copula(synthesizer, seed: int) -> None:
    synthesizer.reset_sampling()
    _require(synthesizer, "_set_random_state", "single-table random-state setter")(seed)
    from synthbank import seeding

    for column, transformer in synthesizer.get_transformers().items():
        if transformer is not None and hasattr(transformer, "set_random_state"):
            transformer.set_random_state(np.random.RandomState(seeding.int_seed(seed, "nulls", str(column))),
                                         "reverse_transform")


def fit_network(kind: str, frame: pd.DataFrame, sdtypes: dict[str, str], *, epochs: int | None = None):
    """SDV's ``CTGANSynthesizer`` (``kind="ctgan"``) or ``TVAESynthesizer`` (``"tvae"``) fitted to ``frame``
    (booleans as objects: SDV's GAN and VAE one-hot them as categories), with ``epochs`` (else SDV's default)."""
    from sdv.single_table import CTGANSynthesizer, TVAESynthesizer

    cls = CTGANSynthesizer if kind == "ctgan" else TVAESynthesizer
    frame = frame[list(sdtypes)].copy()
    for column, sdtype in sdtypes.items():
        if sdtype == "boolean":
            frame[column] = frame[column].astype(object)
    with quiet():
        synthesizer = cls(_single_table_metadata("table", sdtypes), enforce_min_max_values=True,
                          **({"epochs": epochs} if epochs else {}))
        synthesizer.fit({"table": frame})
    return synthesizer


def sample_copula(synthesizer, num_rows: int) -> pd.DataFrame:
    with quiet():
        sampled = synthesizer.sample(num_rows=num_rows)
    if isinstance(sampled, dict):  # SDV 2 returns {table name: frame}
        (sampled,) = sampled.values()
    return sampled.reset_index(drop=True)


def sample_copula_where(synthesizer, num_rows: int, column: str, value) -> pd.DataFrame:
    """``num_rows`` rows holding ``value`` in ``column``: SDV's conditional sampling (the copula given the
    value, rejection of the rows whose decoded value differs)."""
    from sdv.sampling import Condition

    with quiet(), contextlib.redirect_stderr(io.StringIO()):  # SDV draws a progress bar of its own
        try:
            sampled = synthesizer.sample_from_conditions([Condition(num_rows=int(num_rows), column_values={column: value})])
        except Exception as exc:  # SDV gives up when its tries find too few rows
            raise SynthbankError(f"SDV could not draw {num_rows} rows with {column} = {value!r} "
                                 f"({exc.__class__.__name__}); ask for a smaller share.") from None
    if isinstance(sampled, dict):
        (sampled,) = sampled.values()
    return sampled.reset_index(drop=True)


def _categories(transformer, column: str) -> tuple[dict, dict]:
    intervals = getattr(transformer, "intervals", None)
    if not intervals:
        raise SynthbankError(f"Column '{column}' is not encoded as categories, so it cannot be conditioned.")
    frequencies = getattr(transformer, "frequencies", None) or {c: float(b - a) for c, (a, b) in intervals.items()}
    return dict(intervals), {c: float(f) for c, f in frequencies.items()}


def copula_categories(synthesizer, column: str) -> tuple[dict, dict]:
    """A fitted copula's categories of ``column``: their intervals in [0, 1] and their shares of the rows."""
    return _categories(synthesizer.get_transformers().get(column), column)


def encoder_categories(encoder, column: str) -> tuple[dict, dict]:
    """The same for a fitted RDT ``HyperTransformer`` (a child table's encoder)."""
    return _categories(encoder.get_config()["transformers"].get(column), column)


# --- SDV's HMASynthesizer (engine="sdv") --------------------------------------------------------------
def fit_hma(metadata_spec: dict, data: dict[str, pd.DataFrame], *, root: str, root_distribution: str,
            orders: dict[str, dict[str, list]] | None = None, verbose: bool = False):
    """SDV's ``HMASynthesizer`` for one window (a parent and up to four children), fitted on ``data``.
    The window's root gets ``root_distribution`` (SDV's ``beta`` for synthbank's ``quantiles``, which is no
    family of SDV's: the reference engine stays SDV's own); children keep HMA's own ``norm``."""
    from rdt.transformers import OrderedUniformEncoder
    from sdv.metadata import Metadata
    from sdv.multi_table import HMASynthesizer

    from synthbank.relational import marginals

    with quiet():
        hma = HMASynthesizer(Metadata.load_from_dict(metadata_spec), verbose=verbose)
        hma.set_table_parameters(root, {"default_distribution": "beta" if root_distribution == marginals.NAME
                                        else root_distribution})
        if orders:
            hma.auto_assign_transformers(data)
            for name, table_orders in orders.items():
                if table_orders:
                    hma.update_transformers(name, {c: OrderedUniformEncoder(order=o) for c, o in table_orders.items()})
        hma.fit(data)
    return hma


def seed_hma(hma, seed: int, window: int) -> None:
    """Make an HMA's sampling depend on ``seed``, with a stream of its own per window and table.

    SDV samples from a fixed seed (reset by ``reset_sampling``); synthbank sets the numpy seed HMA uses
    while sampling and each table model's random state."""
    from synthbank import seeding

    hma.reset_sampling()
    _require(hma, "_numpy_seed", "HMA numpy seed")
    hma._numpy_seed = seeding.int_seed(seed, "hma", window, "numpy")
    for table, synthesizer in _require(hma, "_table_synthesizers", "HMA table synthesizers").items():
        if getattr(synthesizer, "_model", None) is not None:  # None: a table with no learned column
            _require(synthesizer, "_set_random_state", "single-table random-state setter")(
                seeding.int_seed(seed, "hma", window, table))


def sample_hma(hma, num_rows: int, root: str) -> dict[str, pd.DataFrame]:
    with quiet():
        return hma.sample(num_rows=num_rows, main_table_name=root)


class SdvHmaWindow:
    """SDV's ``HMASynthesizer`` behind the same two calls as :class:`~synthbank.relational.fast_hma.FastHMA`:
    ``sample(num_rows, seed)`` and ``empty()``. ``index`` gives the window its own random streams."""

    def __init__(self, hma, root: str, index: int):
        self.hma, self.root, self.index = hma, root, index

    def sample(self, num_rows: int, seed: int) -> dict[str, pd.DataFrame]:
        seed_hma(self.hma, seed, self.index)
        if not num_rows:
            return self.empty()
        return {name: frame.reset_index(drop=True) for name, frame in sample_hma(self.hma, num_rows, self.root).items()}

    def empty(self) -> dict[str, pd.DataFrame]:
        metadata = self.hma.get_metadata()
        return {name: pd.DataFrame({c: pd.Series(dtype=object) for c in table.columns})
                for name, table in metadata.tables.items()}


# --- persistence --------------------------------------------------------------------------------------
def save(model, path) -> None:
    """Pickle a fitted model (SDV's own format: cloudpickle)."""
    import cloudpickle

    with open(path, "wb") as handle:
        cloudpickle.dump(model, handle)


def load(path):
    """Unpickle a model written by :func:`save`. Runs code: only for trusted model directories."""
    import cloudpickle

    with open(path, "rb") as handle:
        return cloudpickle.load(handle)
