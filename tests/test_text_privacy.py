"""PII scrubbing, placeholder filling and the memorization (copy) filter of the text engine."""

import re

import pytest
from faker import Faker

from synthbank.errors import SynthbankError
from synthbank.text.memorization import MIN_NGRAM, CopyFilter, calibrate_ngram
from synthbank.text.scrub import PLACEHOLDER_RE, PiiScrubber, fill_placeholders


def test_patterns_are_scrubbed_without_known_values():
    text = ("Call me at (415) 555-0134 or 415.555.0199, write to jane.doe+bank@example.co.uk, SSN 123-45-6789, "
            "card 4111 1111 1111 1111, account 000123456789, see https://bank.example.com/case?id=4. "
            "I paid $1,250.00 on 03/04/2023 for loan 12.")
    out = PiiScrubber().scrub(text)
    for placeholder in ("[PHONE]", "[EMAIL]", "[SSN]", "[CARD]", "[ACCOUNT]", "[URL]"):
        assert placeholder in out, (placeholder, out)
    assert out.count("[PHONE]") == 2
    assert "$1,250.00" in out and "03/04/2023" in out and "loan 12." in out  # amounts and dates stay
    assert not re.search(r"\d{3}-\d{2}-\d{4}|@", out)


def test_card_needs_a_valid_checksum():
    assert "[CARD]" not in PiiScrubber().scrub("reference 4111 1111 1111 1112 was quoted")


def test_known_values_and_name_parts_are_scrubbed():
    scrubber = PiiScrubber({"name": ["Susan Levy", "Al Li"], "email": ["S.Levy@Mail.com"], "street_address": ["12 Oak Street"]})
    out = scrubber.scrub("My name is Susan Levy. Susan lives at 12 oak street; mail s.levy@mail.com. Levy's friend Al came.")
    assert out == "My name is [NAME]. [NAME] lives at [ADDRESS]; mail [EMAIL]. [NAME]'s friend Al came."
    assert scrubber.find("hello susan levy") == ["susan levy"]
    assert scrubber.find("nothing here") == []
    assert PiiScrubber({"name": ["Bob Stone"]}).scrub("a stone wall") == "a stone wall"  # parts: case-sensitive


def test_fill_placeholders_faker_mask_and_row_values():
    faker = Faker("en_US")
    faker.seed_instance(1)
    text = "I am [NAME], email [EMAIL], phone [PHONE]."
    filled = fill_placeholders(text, faker)
    assert not PLACEHOLDER_RE.search(filled) and "@" in filled
    assert fill_placeholders(text, faker, mode="mask") == "I am XXXX, email XXXX, phone XXXX."
    own = fill_placeholders(text, faker, row_values={"NAME": "Ann Example", "EMAIL": "ann@example.org"})
    assert own.startswith("I am Ann Example, email ann@example.org, phone ")
    with pytest.raises(SynthbankError, match="pii_fill"):
        fill_placeholders(text, faker, mode="blank")


def test_fill_never_writes_a_forbidden_real_value():
    faker = Faker("en_US")
    faker.seed_instance(3)
    first_fake = faker.name()  # the value a fresh seed-3 Faker would write first
    faker.seed_instance(3)
    filled = fill_placeholders("[NAME]", faker, forbidden=PiiScrubber({"name": [first_fake]}))
    assert filled != first_fake and filled


def test_copy_filter_exact_and_ngram():
    training = ["The bank charged me a late fee even though I paid on time every single month.",
                "My mortgage escrow payment went up without any explanation."]
    copy_filter = CopyFilter(training, ngram=8)
    assert copy_filter.copies("the bank charged me a late fee, even though I paid on time every single month!")
    assert copy_filter.copies("Hello. My mortgage escrow payment went up without any explanation at all.")
    assert not copy_filter.copies("The bank charged me a fee and the escrow went up.")
    restored = CopyFilter.from_dict(copy_filter.to_dict())
    assert restored.copies(training[0]) and restored.ngram == 8
    assert "late" not in str(copy_filter.to_dict())  # only keyed hashes in a Bloom filter are kept
    other = CopyFilter(training, ngram=8)  # another model: another key, so other bits for the same texts
    assert other.key != copy_filter.key and other.to_dict()["array"] != copy_filter.to_dict()["array"]
    assert copy_filter.false_positive_rate <= 1e-6


def test_copy_filter_false_positive_rate_is_as_designed():
    import secrets

    from faker import Faker

    faker = Faker()
    faker.seed_instance(0)
    copy_filter = CopyFilter([faker.paragraph(nb_sentences=8) for _ in range(500)], ngram=8, false_positive_rate=1e-3)
    probes = [secrets.token_bytes(16) for _ in range(200_000)]
    observed = copy_filter._contains(probes).mean()
    assert observed < 2e-3, observed  # designed 1e-3: 200 expected, well under 400


def test_calibrated_ngram_follows_the_data():
    varied = [f"Complaint number {i} says word{i} and token{i * 7} differ from alpha{i % 5} beta{i % 3} gamma{i}" for i in range(60)]
    assert calibrate_ngram(varied) == MIN_NGRAM
    boilerplate = ["I am writing to dispute the charges on my account because the bank never answered my letters "
                   f"about case {i}" for i in range(60)]
    assert calibrate_ngram(boilerplate) > 15  # real texts share an 18-word preamble: runs that long are normal


def test_context_sampler_keeps_only_frequent_combinations_and_values():
    import numpy as np
    import pandas as pd

    from synthbank.text.context import ContextSampler

    frame = pd.DataFrame({"product": ["Card"] * 6 + ["Mortgage"], "state": ["CA", "CA", "NY", "NY", "TX", "TX", "WY"]})
    sampler = ContextSampler.from_dict(ContextSampler.fit(frame, min_count=2).to_dict())
    drawn = sampler.sample(200, np.random.default_rng(0))
    assert set(map(tuple, drawn.to_numpy())) == {("Card", "CA"), ("Card", "NY"), ("Card", "TX")}  # (Mortgage, WY) was one person
    with pytest.raises(SynthbankError, match="product='Mortgage'"):  # seen once: below the threshold
        sampler.sample(5, np.random.default_rng(0), where={"product": "Mortgage"})
    with pytest.raises(SynthbankError, match="product='Loan'"):
        sampler.sample(5, np.random.default_rng(0), where={"product": "Loan"})
    # the default threshold (5): no value or combination seen fewer than 5 times is kept at all
    saved = ContextSampler.fit(frame).to_dict()
    assert saved["marginals"] == {"product": {"Card": 6}, "state": {}} and saved["combos"] == []
    assert "WY" not in str(saved) and "Mortgage" not in str(saved)
    card = ContextSampler.from_dict(saved).sample(20, np.random.default_rng(0), where={"product": "Card"})
    assert (card["product"] == "Card").all() and card["state"].isna().all()


def test_context_sampler_where_follows_pairs_seen_often_enough():
    import numpy as np
    import pandas as pd

    from synthbank.text.context import ContextSampler

    frame = pd.DataFrame({"product": ["Card"] * 10 + ["Loan"] * 10 + ["Card"] * 2,
                          "issue": ["Fee"] * 5 + ["Fraud"] * 5 + ["Rate"] * 10 + ["Theft", "Lost"],
                          "state": [f"S{i}" for i in range(22)]})  # every combination is unique
    sampler = ContextSampler.from_dict(ContextSampler.fit(frame).to_dict())
    assert sampler.combos == []
    cards = sampler.sample(100, np.random.default_rng(0), where={"product": "Card"})
    assert set(cards["issue"]) == {"Fee", "Fraud"}  # Card's pairs seen ≥ 5 times; Theft/Lost once each
    assert cards["state"].isna().all()  # no state value seen 5 times
    assert "Theft" not in str(sampler.to_dict())
