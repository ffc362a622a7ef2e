"""TextSynthesizer on the real packaged SmolLM2 with real PEFT LoRA (tiny step counts: fast, not good)."""

import logging

import pandas as pd
import pytest

from synthbank.errors import SynthbankError, TextModelError
from synthbank.text.base_model import load_base_model
from synthbank.text.scrub import PLACEHOLDER_RE
from synthbank.text.synthesizer import TextSynthesizer

TINY = {"training": {"max_steps": 2, "batch_size": 4, "max_length": 96, "max_examples": 24},
        "generation": {"max_new_tokens": 24, "batch_size": 8}}


@pytest.fixture(scope="module")
def complaints(demo_tables):
    users = demo_tables["users"][["user_id", "full_name", "email", "phone"]]
    return demo_tables["complaints"].merge(users, on="user_id")


@pytest.fixture(scope="module")
def pii(complaints):
    return {"name": complaints.full_name.tolist(), "email": complaints.email.tolist(), "phone": complaints.phone.tolist()}


@pytest.fixture(scope="module")
def fitted(complaints, pii):
    return TextSynthesizer(**TINY).fit(complaints, "narrative", ["product", "issue"], pii_values=pii)


def test_fit_trains_lora_adapters_only(fitted):
    stats = fitted.training_stats_
    assert stats.steps == 2 and stats.examples == 24 and stats.tokens > 0 and stats.final_loss > 0
    trainable = {n for n, p in fitted.model_.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)


def test_generate_one_text_per_context_row_deterministic(fitted, complaints):
    context = complaints[["product", "issue"]].head(5).set_index(pd.Index([10, 11, 12, 13, 14]))
    first = fitted.generate(context, seed=4)
    assert list(first.index) == [10, 11, 12, 13, 14] and first.name == "narrative"
    assert first.notna().all() and (first.str.len() > 0).all()
    assert first.equals(fitted.generate(context, seed=4))
    assert not first.equals(fitted.generate(context, seed=5))


def test_no_real_pii_and_no_placeholders_in_generated_texts(fitted, pii):
    from synthbank.text.scrub import PiiScrubber

    real = PiiScrubber(pii)
    texts = fitted.generate(n=8, seed=1, forbidden=real)
    assert all(not real.find(t) and not PLACEHOLDER_RE.search(t) for t in texts.dropna())
    masked = fitted.generate(n=8, seed=1, pii_fill="mask")
    assert not any(PLACEHOLDER_RE.search(t) for t in masked.dropna())


def test_sampled_context_and_where(fitted, complaints):
    common = complaints["product"].value_counts().index[0]
    context = fitted.sample_context(50, seed=0, where={"product": common})
    assert (context["product"] == common).all()
    # issues follow the product (pairs seen at least 5 times), not the issues of every product
    pairs = complaints.groupby(["product", "issue"]).size()
    assert set(context["issue"]) <= set(pairs[common][pairs[common] >= 5].index)
    with pytest.raises(SynthbankError, match="not a context column"):
        fitted.sample_context(5, where={"state": "CA"})
    with pytest.raises(SynthbankError, match="product='Crypto'"):
        fitted.sample_context(5, where={"product": "Crypto"})


def test_save_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    files = {p.name for p in (tmp_path / "model").iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "text_model.json"} <= files
    assert "Susan" not in (tmp_path / "model" / "text_model.json").read_text()
    loaded = TextSynthesizer.load(tmp_path / "model")
    context = fitted.sample_context(4, seed=2)
    assert loaded.generate(context, seed=3).equals(fitted.generate(context, seed=3))
    with pytest.raises(TextModelError, match="was trained on 'smollm2-135m-instruct', not"):
        TextSynthesizer.load(tmp_path / "model", base_model="HuggingFaceTB/SmolLM2-360M")
    with pytest.raises(TextModelError, match="no text_model.json"):
        TextSynthesizer.load(tmp_path)


def test_model_from_another_base_model_is_refused(fitted, tmp_path):
    import json

    fitted.save(tmp_path / "model")
    state = json.loads((tmp_path / "model" / "text_model.json").read_text())
    state["base_signature"]["hidden_size"] = 2048
    (tmp_path / "model" / "text_model.json").write_text(json.dumps(state))
    with pytest.raises(TextModelError, match="does not fit the base model"):
        TextSynthesizer.load(tmp_path / "model")


@pytest.mark.parametrize("frame, text, context, message", [
    (pd.DataFrame({"t": [None, "", "  "], "c": ["a", "b", "c"]}), "t", ["c"], "no non-empty text"),
    (pd.DataFrame({"t": ["x y z"], "c": ["a"]}), "t", ["nope"], "'nope' not found"),
    (pd.DataFrame({"t": ["x y z"], "c": ["a"]}), "missing", [], "'missing' not found"),
    (pd.DataFrame({"t": [b"caf\xe9 latte"], "c": ["a"]}), "t", ["c"], "not UTF-8"),
    (pd.DataFrame({"t": ["x y z"], "c": ["a"]}), "t", ["t"], "cannot also be a context column"),
])
def test_bad_training_data(frame, text, context, message):
    with pytest.raises(TextModelError, match=message):
        TextSynthesizer(**TINY).fit(frame, text, context)


def test_bad_settings_and_context():
    with pytest.raises(SynthbankError, match="Unknown TrainingSettings option"):
        TextSynthesizer(training={"epoch": 2})


def test_missing_context_columns_at_generation(fitted):
    with pytest.raises(TextModelError, match="lack column"):
        fitted.generate(pd.DataFrame({"product": ["Mortgage"]}))


def test_long_texts_are_truncated_with_a_warning(complaints, caplog):
    caplog.set_level(logging.WARNING)
    settings = {"training": {"max_steps": 1, "batch_size": 2, "max_length": 24, "max_examples": 4},
                "generation": {"max_new_tokens": 8}}
    TextSynthesizer(**settings).fit(complaints.dropna(subset=["narrative"]).head(4), "narrative", ["product"])
    assert "were truncated" in caplog.text


def test_unknown_models_fail_with_a_clear_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TextModelError, match="HF_HUB_OFFLINE=1 forbids downloading"):
        load_base_model("synthbank-test/no-such-model")
    with pytest.raises(TextModelError, match="does not exist"):
        load_base_model(str(tmp_path / "nowhere" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(TextModelError, match="no config.json"):
        load_base_model(str(tmp_path / "empty"))


def test_a_local_model_directory_works(tmp_path):
    from synthbank.text.base_model import DEFAULT_BASE_MODEL, cache_dir

    load_base_model()  # makes sure the converted default exists
    local = cache_dir() / "models" / DEFAULT_BASE_MODEL
    loaded = load_base_model(str(local))
    assert loaded.name == str(local.resolve()) and loaded.model.config.model_type == "llama"
