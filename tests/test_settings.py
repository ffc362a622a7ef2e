"""Typed settings: checked on construction with the field named, JSON round trip, the CLI's options made
from the fields, and fit() leaving every constructor parameter as it was (scikit-learn's rule)."""

from __future__ import annotations

import copy
import json

import pytest

from synthbank import DatabaseSynthesizer
from synthbank.cli import build_parser
from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.errors import SynthbankError
from synthbank.relational.settings import RelationalSettings
from synthbank.relational.synthesizer import RelationalSynthesizer
from synthbank.text.settings import GenerationSettings, LoraSettings, TextSettings, TrainingSettings


@pytest.mark.parametrize("build, message", [
    (lambda: TrainingSettings(epochs=0), "TrainingSettings.epochs must be greater than 0, got 0"),
    (lambda: TrainingSettings(max_steps=0), "TrainingSettings.max_steps must be at least 1"),
    (lambda: TrainingSettings(batch_size=2.5), "TrainingSettings.batch_size is 2.5; use a whole number"),
    (lambda: GenerationSettings(top_p=1.5), "GenerationSettings.top_p must be at most 1"),
    (lambda: GenerationSettings(pii_fill="blank"), "GenerationSettings.pii_fill is 'blank'; use one of 'faker', 'mask'"),
    (lambda: LoraSettings(dropout=1), "LoraSettings.dropout must be less than 1"),
    (lambda: RelationalSettings(engine="ctgan"), "RelationalSettings.engine is 'ctgan'; use one of 'fast', 'sdv'"),
    (lambda: RelationalSettings(rare_threshold=0), "RelationalSettings.rare_threshold must be at least 1"),
    (lambda: RelationalSettings(leaf_models="yes"), "RelationalSettings.leaf_models is 'yes'; use true or false"),
    (lambda: TextSettings(training={"epochs": -1}), "TrainingSettings.epochs must be greater than 0"),
    (lambda: TrainingSettings.from_dict({"epoch": 2}), "Unknown TrainingSettings option(s): epoch"),
])
def test_bad_values_are_refused_naming_the_field(build, message):
    with pytest.raises(SynthbankError) as raised:
        build()
    assert message in str(raised.value)


def test_settings_round_trip_through_json():
    text = TextSettings(base_model="HuggingFaceTB/SmolLM2-135M-Instruct", training=TrainingSettings(max_steps=3),
                        generation={"max_new_tokens": 40, "pii_fill": "mask"})
    assert isinstance(text.generation, GenerationSettings)  # a mapping becomes the settings object
    again = TextSettings.from_dict(json.loads(json.dumps(text.to_dict())))
    assert again == text
    relational = RelationalSettings(engine="sdv", rare_threshold=3)
    assert RelationalSettings.from_dict(json.loads(json.dumps(relational.to_dict()))) == relational


def test_cli_options_come_from_the_fields():
    """Every field marked for the CLI has its option on `clone`, with the field's default in its help."""
    parser = build_parser()
    clone = parser._subparsers._group_actions[0].choices["clone"]
    options = {a.option_strings[0]: a for a in clone._actions if a.option_strings}
    expected = {"--engine": "fast", "--rare-threshold": None, "--text-model": None, "--text-epochs": "3",
                "--text-max-steps": None, "--text-max-examples": "2000", "--text-max-new-tokens": None,
                "--text-train-minutes": "10", "--text-dp-epsilon": None, "--text-dp-delta": "1e-05"}
    for flag, default in expected.items():
        assert flag in options, flag
        if default is not None:
            assert f"(default {default})" in options[flag].help, (flag, options[flag].help)
    assert options["--engine"].choices == ["fast", "sdv"]
    args = parser.parse_args(["clone", "a.db", "b.db", "--engine", "sdv", "--text-max-steps", "3",
                              "--text-max-new-tokens", "20", "--rare-threshold", "7"])
    from synthbank.cli import _settings_from_args, _text_settings

    assert _settings_from_args(args, RelationalSettings) == RelationalSettings(engine="sdv", rare_threshold=7)
    assert _text_settings(args) == TextSettings(training=TrainingSettings(max_steps=3),
                                                generation=GenerationSettings(max_new_tokens=20))
    assert _text_settings(parser.parse_args(["clone", "a.db", "b.db"])) == TextSettings()


def test_fit_changes_no_constructor_parameter():
    tables = generate_demo_bank(users=30, seed=2)
    tables["complaints"] = tables["complaints"].iloc[0:0]  # an empty table: the model writes it as a copy
    schema = demo_schema()
    relational = RelationalSettings(engine="fast")
    synthesizer = DatabaseSynthesizer(schema, relational=relational, text=False)
    before = copy.deepcopy(vars(synthesizer))
    synthesizer.fit(tables)
    after = {k: v for k, v in vars(synthesizer).items() if not k.endswith("_")}
    assert after.keys() == before.keys()
    for name, value in before.items():
        assert after[name] == value, name
    assert synthesizer.schema is schema and synthesizer.schema.tables["complaints"].mode == "synthesize"
    assert synthesizer.relational_.schema_.tables["complaints"].mode == "copy"  # what it learned, apart

    model = RelationalSynthesizer(schema, engine="sdv", leaf_models=False)
    assert model.settings == RelationalSettings(engine="sdv", leaf_models=False)
    with pytest.raises(SynthbankError, match="not both"):
        RelationalSynthesizer(schema, RelationalSettings(), engine="sdv")
