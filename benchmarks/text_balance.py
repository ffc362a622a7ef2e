"""Does a text model write the product its prompt names? At the data's mix and with rare products drawn
more often in training (``context_balance``), side by side.

The demo bank's complaints (1,000 customers) train one text model per setting, on the context fields the
database engine would choose, for the same time budget. Each writes 20 narratives per product, prompted
with real complaints' contexts of that product; a classifier (TF-IDF and logistic regression) trained on the
real narratives reads each one back. Printed per product and setting: the share read as the prompt's
product.

    python benchmarks/text_balance.py                     # 8-minute budget per model, balances 0 and 0.5
    python benchmarks/text_balance.py --minutes 3 --balances 0,0.5,1
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
    from synthbank.text.synthesizer import TextSynthesizer
    from synthbank.text.tables import candidate_context, choose_context, context_frame

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget per model")
    parser.add_argument("--balances", default="0,0.5", help="comma-separated context_balance values")
    parser.add_argument("--per-product", type=int, default=20)
    args = parser.parse_args()

    tables = generate_demo_bank(users=1000, seed=11)
    schema = demo_schema()
    real = tables["complaints"].dropna(subset=["narrative"])
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    classifier = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(real.narrative), real["product"])
    frame = context_frame(schema, tables, "complaints", candidate_context(schema, "complaints"))
    lifted = choose_context(tables["complaints"]["narrative"], frame)  # most telling first: the one balanced on
    chosen = [c for c in frame.columns if c in lifted]  # the prompt keeps the schema's order
    data = frame[chosen].assign(__text__=tables["complaints"]["narrative"])
    products = sorted(real["product"].unique())
    written = data.loc[data["__text__"].notna(), chosen]
    mine = [written[frame.loc[written.index, "product"] == p] for p in products]
    prompts = pd.concat([rows.sample(args.per_product, replace=len(rows) < args.per_product, random_state=0)
                         for rows in mine]).reset_index(drop=True)
    print(f"context {chosen}, balanced on {lifted[0]!r}; real shares "
          + ", ".join(f"{p} {s:.3f}" for p, s in real["product"].value_counts(normalize=True).items()))

    results = {}
    for balance in [float(b) for b in args.balances.split(",")]:
        started = time.perf_counter()
        training = {"max_minutes": args.minutes, "epochs": 10, "context_balance": balance}
        model = TextSynthesizer(training=training).fit(data, "__text__", chosen, balance_by=lifted[0])
        stats = model.training_stats_
        texts = model.generate(prompts, seed=1)
        kept = texts.notna().to_numpy()
        read = classifier.predict(vectorizer.transform(texts[kept]))
        asked = prompts["product"].to_numpy()[kept]
        results[balance] = {p: float(np.mean(read[asked == p] == p)) for p in products}
        results[balance]["all"] = float(np.mean(read == asked))
        print(f"balance {balance:g}: {stats.steps} steps ({stats.stopped}), validation loss {stats.validation_loss:.3f}, "
              f"{time.perf_counter() - started:.0f} s")
    print(f"\nshare of narratives read as the prompt's product ({args.per_product} per product)")
    print(f"{'product':<30}" + "".join(f"{'balance ' + format(b, 'g'):>14}" for b in results))
    for p in [*products, "all"]:
        print(f"{p:<30}" + "".join(f"{results[b][p]:14.2f}" for b in results))


if __name__ == "__main__":
    main()
