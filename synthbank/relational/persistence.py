"""Model directories of the relational engine: the window models (SDV's cloudpickle format), the schema,
and a JSON state of shapes and aggregate statistics — never a training row or a PII value, except the
rows of tables the schema marks ``copy`` or ``subset`` (stored without their PII columns).

A manifest records synthbank's and SDV's versions and the schema's fingerprint, checked on load. Loading
a pickle runs code: only load model directories you trust.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd

from synthbank import __version__
from synthbank.errors import SynthbankError
from synthbank.protection import RareGuard
from synthbank.relational import sdv_adapter
from synthbank.relational.association import Association
from synthbank.relational.binary import BinaryShape
from synthbank.relational.combos import ComboRule
from synthbank.relational.keys import KeyFormat
from synthbank.relational.links import DeferredLink, SecondaryLink
from synthbank.relational.pii import PiiFiller
from synthbank.relational.plan import TablePlan, Window
from synthbank.relational.pseudonyms import Pseudonyms
from synthbank.relational.rule_keeping import RuleKeeper
from synthbank.relational.settings import RelationalSettings
from synthbank.schemas.model import DatabaseSchema

FORMAT = "synthbank-relational/4"  # 4: typed settings


def save_model(model, directory: str | Path) -> Path:
    """Write the model: HMA windows (SDV's own ``save``, cloudpickle) and synthbank's state as JSON.

    The state holds shapes and aggregate statistics only — no training rows, no PII values — except
    the rows of tables the schema marks ``copy`` or ``subset``, which are copied verbatim by request.
    """
    directory = Path(directory)
    (directory / "windows").mkdir(parents=True, exist_ok=True)
    model.schema_.save(directory / "schema.yaml")
    for index, window_model in enumerate(model.hmas_):
        sdv_adapter.save(window_model, directory / "windows" / f"window_{index}.pkl")
    state = {
        "format": FORMAT,
        "settings": model.settings.to_dict(),
        "windows": [{"parent": w.parent, "children": w.children} for w in model.windows_],
        "plans": {name: vars(plan) for name, plan in model.plans_.items()},
        "row_counts": model.row_counts_,
        "key_formats": {t: {c: f.to_dict() for c, f in cols.items()} for t, cols in model.key_formats_.items()},
        "pii": {t: f.to_dict() for t, f in model.pii_.items()},
        "secondary": {t: {str(i): link.to_dict() for i, link in links.items()} for t, links in model.secondary_.items()},
        "deferred": {t: {str(i): link.to_dict() for i, link in links.items()} for t, links in model.deferred_.items()},
        "forms": model.forms_,
        "notes": model.notes_,
        "rare_threshold": model.rare_threshold_,
        "rare": {t: {c: g.to_dict() for c, g in cols.items()} for t, cols in model.rare_.items()},
        "combos": {t: [rule.to_dict() for rule in rules] for t, rules in model.combos_.items()},
        "associations": {t: {c: a.to_dict() for c, a in cols.items()} for t, cols in getattr(model, "associations_", {}).items()},
        "point_masses": getattr(model, "point_masses_", {}),
        "pseudonyms": model.pseudonyms_.to_dict(),
        "rules": model.rules_.to_dict(),
        "binary": {t: {c: shape.to_dict() for c, shape in cols.items()} for t, cols in getattr(model, "binary_", {}).items()},
    }
    if getattr(model, "dp_", None) is not None:
        state["differential_privacy"] = model.dp_.statement()
        with open(directory / "dp.pkl", "wb") as handle:
            pickle.dump(model.dp_, handle)
    (directory / "relational.json").write_text(json.dumps(state, indent=1, default=str))
    for name, frame in model.fixed_.items():
        (directory / "fixed").mkdir(exist_ok=True)
        frame.to_pickle(directory / "fixed" / f"{name}.pkl")
    manifest = {"synthbank_version": __version__, "sdv_version": sdv_adapter.sdv_version(),
                "schema_fingerprint": model.schema_.fingerprint(), "format": FORMAT}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return directory


def load_model(cls, directory: str | Path):
    """Load a model directory. It contains pickles, which run code when loaded: only load trusted ones."""
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file() or not (directory / "relational.json").is_file():
        raise SynthbankError(f"'{directory}' is not a synthbank model directory (no manifest.json / relational.json).")
    manifest = json.loads(manifest_path.read_text())
    schema = DatabaseSchema.load(directory / "schema.yaml")
    if manifest.get("schema_fingerprint") != schema.fingerprint():
        raise SynthbankError(f"The model in '{directory}' does not match its schema file (fingerprint differs); refit it.")
    state = json.loads((directory / "relational.json").read_text())
    if state.get("format") != FORMAT:
        raise SynthbankError(f"The model in '{directory}' has format {state.get('format')!r}; this synthbank reads {FORMAT}.")
    model = cls(schema, RelationalSettings.from_dict(state["settings"]))
    model.schema_ = schema
    model.rare_threshold_ = state["rare_threshold"]
    model.rare_ = {t: {c: RareGuard.from_dict(g) for c, g in cols.items()} for t, cols in state["rare"].items()}
    model.combos_ = {t: [ComboRule(**rule) for rule in rules] for t, rules in state["combos"].items()}
    model.point_masses_ = state.get("point_masses", {})
    model.pseudonyms_ = Pseudonyms.from_dict(state.get("pseudonyms"))
    model.rules_ = RuleKeeper.from_dict(state.get("rules"))
    model.binary_ = {t: {c: BinaryShape(**d) for c, d in cols.items()} for t, cols in state.get("binary", {}).items()}
    model.associations_ = {t: {c: Association.from_dict(a) for c, a in cols.items()}
                           for t, cols in state.get("associations", {}).items()}
    model.windows_ = [Window(w["parent"], w["children"]) for w in state["windows"]]
    model.plans_ = {name: TablePlan(**plan) for name, plan in state["plans"].items()}
    model.row_counts_ = state["row_counts"]
    model.key_formats_ = {t: {c: KeyFormat(**f) for c, f in cols.items()} for t, cols in state["key_formats"].items()}
    model.pii_ = {t: PiiFiller.from_dict(d) for t, d in state["pii"].items()}
    model.secondary_ = {t: {int(i): SecondaryLink(**d) for i, d in links.items()} for t, links in state["secondary"].items()}
    model.deferred_ = {t: {int(i): DeferredLink(**d) for i, d in links.items()} for t, links in state["deferred"].items()}
    model.forms_ = state.get("forms", {})
    model.notes_ = state.get("notes", [])
    model.fixed_ = {p.stem: pd.read_pickle(p) for p in sorted((directory / "fixed").glob("*.pkl"))} if (directory / "fixed").is_dir() else {}
    model.hmas_ = []
    for index in range(len(model.windows_)):
        model.hmas_.append(sdv_adapter.load(directory / "windows" / f"window_{index}.pkl"))
    if (directory / "dp.pkl").is_file():
        with open(directory / "dp.pkl", "rb") as handle:
            model.dp_ = pickle.load(handle)
    model.manifest_ = manifest
    return model
