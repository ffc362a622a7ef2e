"""Slow: on the demo bank, generated narratives are about the product and issue they were asked for, with
and without differential privacy."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from synthbank.demo_bank import generate_demo_bank
from synthbank.text.memorization import CopyFilter
from synthbank.text.scrub import PiiScrubber
from synthbank.text.synthesizer import TextSynthesizer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bank():
    tables = generate_demo_bank(users=1000, seed=11)
    users = tables["users"]
    real = tables["complaints"].dropna(subset=["narrative"]).reset_index(drop=True)
    pii = {"name": users.full_name, "email": users.email, "phone": users.phone, "ssn": users.ssn}
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    classifier = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(real.narrative), real["product"])
    return real, pii, lambda texts: classifier.predict(vectorizer.transform(texts))


def clearly_above_chance(hits: np.ndarray, classes: int) -> float:
    """Chance accuracy plus three binomial standard deviations for this many texts."""
    chance = 1 / classes
    return chance + 3 * np.sqrt(chance * (1 - chance) / len(hits))


def test_narratives_follow_their_product_and_leak_nothing(bank):
    real, pii, predict = bank
    synthesizer = TextSynthesizer(training={"max_minutes": 4, "epochs": 10}).fit(real, "narrative", ["product", "issue"], pii_values=pii)
    context = synthesizer.sample_context(64, seed=1)
    real_pii = PiiScrubber(pii)
    texts = synthesizer.generate(context, seed=1, forbidden=real_pii)
    assert texts.notna().mean() > 0.9
    assert synthesizer.generation_stats_.ended_share >= 0.95  # texts end on the end token, not at the limit

    kept = texts.notna()
    hits = predict(texts[kept]) == context["product"][kept]
    assert hits.mean() > 3 / real["product"].nunique()  # chance is 1/6

    assert not any(real_pii.find(t) for t in texts[kept])
    copies = CopyFilter(real.narrative, ngram=synthesizer.copy_filter_.ngram)  # the raw real texts
    assert not any(copies.copies(t) for t in texts[kept])


def test_a_differentially_private_model_still_conditions_on_its_fields(bank):
    real, pii, predict = bank
    synthesizer = TextSynthesizer(training={"dp_epsilon": 8.0, "max_minutes": 4, "epochs": 10}).fit(
        real, "narrative", ["product"], pii_values=pii)
    assert 0 < synthesizer.dp_["epsilon"] <= 8.0
    context = synthesizer.sample_context(96, seed=2)
    texts = synthesizer.generate(context, seed=2)
    kept = texts.notna()
    hits = predict(texts[kept]) == context["product"][kept]
    assert hits.mean() > clearly_above_chance(hits, real["product"].nunique())
