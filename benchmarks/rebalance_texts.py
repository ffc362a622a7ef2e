"""Do narratives follow a rebalanced category? Complaints asked for at 60% of one product, read back.

The demo bank (1,000 customers) is learned once with its narratives. A classifier (TF-IDF and logistic
regression) trained on the *real* narratives reads each synthetic narrative and names its product. Reported
per way of sampling — the plain clone, then ``rebalance={"complaints.product": {P: 0.6}}`` for the rarest
product P with at least 5% of the complaints, under each ``--class-models`` setting asked for (the
relational model is refitted for each, the text model is shared):

- the share of rows whose product is P, and of narratives read as P;
- agreement: of the rows of product P, the share whose narrative is read as P (and over all rows);
- the share of P's complaints that point at a loan, beside the real share (a complaint tied to a loan is
  about that loan's kind, so a link the real P never has gives the text model a loan of another kind).

    python benchmarks/rebalance_texts.py                  # 4-minute text model
    python benchmarks/rebalance_texts.py --minutes 1      # a quick look
    python benchmarks/rebalance_texts.py --class-models booleans,categories
    python benchmarks/rebalance_texts.py --balance 0.5    # rare products' texts drawn more often in training
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from synthbank.demo_bank import demo_schema, generate_demo_bank
    from synthbank.relational.synthesizer import RelationalSynthesizer
    from synthbank.synthesizer import DatabaseSynthesizer
    from synthbank.text.settings import TextSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=4.0, help="text training budget")
    parser.add_argument("--share", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--class-models", default="booleans", help="comma-separated class_models settings to compare")
    parser.add_argument("--balance", type=float, default=0.0, help="the text model's context_balance (--text-balance)")
    args = parser.parse_args()

    tables = generate_demo_bank(users=1000, seed=11)
    real = tables["complaints"].dropna(subset=["narrative"])
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    classifier = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(real.narrative), real["product"])
    shares = real["product"].value_counts(normalize=True)
    product = shares[shares >= 0.05].index[-1]
    complaints = tables["complaints"]
    real_linked = complaints.loc[complaints["product"] == product, "loan_id"].notna().mean()
    print(f"product {product!r}: real share {shares[product]:.3f}, real share with a loan {real_linked:.3f}")

    started = time.perf_counter()
    text = TextSettings.from_dict({"training": {"max_minutes": args.minutes, "epochs": 10, "context_balance": args.balance}})
    model = DatabaseSynthesizer(demo_schema(), text=text).fit(tables)
    print(f"fit (default class models) {time.perf_counter() - started:.0f} s")

    def read(synthetic: dict[str, pd.DataFrame], label: str) -> None:
        rows = synthetic["complaints"]
        written = rows.dropna(subset=["narrative"])
        predicted = classifier.predict(vectorizer.transform(written.narrative))
        mine = written["product"].to_numpy() == product
        linked = rows.loc[rows["product"] == product, "loan_id"].notna().mean()
        print(f"{label:<32} rows {np.mean(rows['product'] == product):.3f}  read as {product} {np.mean(predicted == product):.3f}  "
              f"agreement on {product} {np.mean(predicted[mine] == product):.3f}  overall {np.mean(predicted == written['product']):.3f}  "
              f"with a loan {linked:.3f}")

    ask = {"complaints.product": {product: args.share}}
    read(model.sample(seed=args.seed), "plain clone")
    for mode in args.class_models.split(","):
        started = time.perf_counter()
        if mode != model.relational.class_models:
            settings = model.relational_.settings.replace(class_models=mode)
            model.relational_ = RelationalSynthesizer(model.schema, settings).fit(tables)
        fitted = time.perf_counter() - started
        started = time.perf_counter()
        synthetic = model.sample(seed=args.seed, rebalance=ask)
        read(synthetic, f"rebalanced, class_models={mode}")
        print(f"{'':<32} relational fit {fitted:.0f} s, sample {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
