"""Every tunable of the relational engine, as typed settings (see :mod:`synthbank.settings`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from synthbank.settings import Settings, setting

#: ``fast``: HMA's mathematics vectorised over all parents (:mod:`synthbank.relational.fast_hma`);
#: ``sdv``: SDV's own ``HMASynthesizer``, one copula object per parent row (the reference).
Engine = Literal["fast", "sdv"]
#: Columns of a window's root whose rare values get a copula of their own (see ``FastHMA``).
ClassModels = Literal["booleans", "categories", "none"]
#: How one table's columns are drawn (see :mod:`synthbank.relational.table_models`).
TableModelName = Literal["trees", "copula", "arf", "ctgan", "tvae"]
#: The marginal distributions: synthbank's smoothed quantiles, or one of SDV's Gaussian copula families.
Distribution = Literal["quantiles", "norm", "beta", "truncnorm", "gamma", "uniform", "gaussian_kde"]


@dataclass
class RelationalSettings(Settings):
    """How :class:`~synthbank.relational.synthesizer.RelationalSynthesizer` learns the tables."""

    engine: Engine = setting("fast", "fast: HMA's mathematics for all parents at once; sdv: SDV's own "
                                     "HMASynthesizer, one model per parent row (slow; the reference)", cli=True)
    default_distribution: Distribution = setting("quantiles", "marginal distribution of each window's root table: "
                                                              "quantiles (the data's own quantiles, each knot the mean "
                                                              "of at least 5 rows, synthbank.relational.marginals) or one of "
                                                              "SDV's families (child tables keep HMA's norm)")
    order_categories: bool = setting(True, "order each categorical column's categories so that the copulas see "
                                           "their associations (synthbank.relational.encoding)")
    leaf_models: bool = setting(True, "tables that are only ever children get a copula of their own over all "
                                      "their rows, replacing the values of HMA's per-parent child models")
    class_models: ClassModels = setting("booleans", "booleans: the rarer value of every boolean or two-valued column (a "
                                                    "fraud or default flag) gets a copula fitted on its rows alone, which rebalancing "
                                                    "draws from; categories: also the values of categorical columns "
                                                    "with at most 12 values; none: SDV's conditional sampling only",
                                        cli=True)
    strata: Literal["auto", "none"] = setting("auto", "auto: a window's root table is split by the categorical column "
                                                      "that explains most of its numbers and nullable links (e.g. transaction type), "
                                                      "each value's rows with a copula of their own; none: one copula",
                                             cli=True)
    table_model: TableModelName = setting(
        "trees", "how each table's columns are drawn inside HMA's hierarchy: trees (a tree per column over the "
                 "columns before it and the synthetic parent row, synthpop's CART), copula (SDV's Gaussian copula), "
                 "arf (an adversarial random forest), ctgan or tvae (SDV's GAN and VAE; these three not conditioned "
                 "on the parent row); a schema file's table_model "
                 "overrides it per table", cli=True)
    tree_min_leaf: int = setting(20, "trees and arf: the fewest rows a leaf holds (and never fewer than K entities)",
                                 ge=1, cli=True, metavar="ROWS")
    network_epochs: int = setting(300, "ctgan/tvae: training epochs (SDV's default: 300)", ge=1, cli=True)
    rare_threshold: int | None = setting(None, "a category held by fewer than K entities never reaches a model, and "
                                               "numbers keep K rows beyond their bounds (default: the schema "
                                               "file's, else 5)", ge=1, cli=True, metavar="K")
    rules: Literal["discover", "schema", "none"] = setting(
        "discover", "discover: find the rules every real row obeys (when the schema lists none: no rules: key) and "
                    "keep them in every synthetic row; schema: keep only the schema file's rules; none: keep no rule",
        cli=True)
    dp_epsilon: float | None = setting(None, "learn the tables with differential privacy to this total epsilon (a "
                                             "Gaussian copula per table, the person as the unit; see synthbank.dp)",
                                       gt=0, cli=True, metavar="E")
    dp_delta: float = setting(1e-6, "the delta of the tables' DP guarantee", gt=0, lt=1, cli=True, metavar="D")
    dp_max_rows: int = setting(10, "with DP: a person's rows kept in each table while learning (more rows, more noise)",
                               ge=1, cli=True, metavar="N")
    verbose: bool = setting(False, "let SDV log what it does")


__all__ = ["RelationalSettings", "Engine", "Distribution", "ClassModels", "TableModelName"]
