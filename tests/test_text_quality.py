"""Slow: on the demo bank, generated narratives are about the product and issue they were asked for."""

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from synthbank.demo_bank import generate_demo_bank
from synthbank.text.memorization import CopyFilter
from synthbank.text.scrub import PiiScrubber
from synthbank.text.synthesizer import TextSynthesizer

pytestmark = pytest.mark.slow


def test_narratives_follow_their_product_and_leak_nothing():
    tables = generate_demo_bank(users=1000, seed=11)
    users = tables["users"]
    real = tables["complaints"].dropna(subset=["narrative"]).reset_index(drop=True)
    pii = {"name": users.full_name, "email": users.email, "phone": users.phone, "ssn": users.ssn}
    synthesizer = TextSynthesizer().fit(real, "narrative", ["product", "issue"], pii_values=pii)
    context = synthesizer.sample_context(64, seed=1)
    real_pii = PiiScrubber(pii)
    texts = synthesizer.generate(context, seed=1, forbidden=real_pii)
    assert texts.notna().mean() > 0.9

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    classifier = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(real.narrative), real["product"])
    kept = texts.notna()
    accuracy = (classifier.predict(vectorizer.transform(texts[kept])) == context["product"][kept]).mean()
    assert accuracy > 3 / real["product"].nunique()  # chance is 1/6; one CPU epoch reaches ~0.65

    assert not any(real_pii.find(t) for t in texts[kept])
    copies = CopyFilter(real.narrative, ngram=synthesizer.copy_filter_.ngram)  # the raw real texts
    assert not any(copies.copies(t) for t in texts[kept])
