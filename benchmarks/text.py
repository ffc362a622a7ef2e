"""The text engine on the demo bank's complaint narratives, measured side by side in one run.

Prints:
1. base-model cold load: first time (GGUF → safetensors conversion, in a fresh cache) vs cached;
2. LoRA training tokens/s;
3. generation tokens/s at batch 1 and at the default batch: synthbank's path (prompts sorted by length,
   LoRA merged into the weights) vs a plain ``model.generate`` loop on the same PEFT model and prompts
   (prompts in their given order, adapter unmerged), and the ratio;
4. conditioning: a TF-IDF classifier trained on real narratives predicts the product and the issue a
   synthetic narrative was generated for (vs its accuracy on a real holdout, and chance);
5. privacy: real PII values in generated texts, and texts that copy a training text.

    python benchmarks/text.py --users 1000
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def cold_load_seconds() -> tuple[float, float]:
    """(first load in an empty cache, second load), each in a fresh process so imports are not counted twice."""
    code = ("import time, warnings; warnings.filterwarnings('ignore'); import transformers, peft; "
            "from synthbank.text.base_model import load_base_model; t = time.perf_counter(); load_base_model(); "
            "print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SYNTHBANK_CACHE": cache}
        times = [float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
                       .stdout.strip().splitlines()[-1]) for _ in range(2)]
    return times[0], times[1]


def plain_generate(model, tokenizer, prompts, batch_size, max_new_tokens, seed):
    """The straightforward loop: batches in the given order, right after tokenizing, adapter unmerged."""
    import torch

    tokenizer.padding_side = "left"
    new_tokens, start = 0, time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(prompts), batch_size):
            batch = tokenizer(prompts[b:b + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
            torch.manual_seed(seed + b)
            out = model.generate(**batch, do_sample=True, temperature=0.8, top_p=0.95, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id)
            generated = out[:, batch["input_ids"].shape[1]:]
            for row in generated:
                stop = (row == tokenizer.eos_token_id).nonzero()
                new_tokens += int(stop[0]) if len(stop) else len(row)
    return new_tokens / (time.perf_counter() - start)


def synthbank_generate(synthesizer, prompts, batch_size, max_new_tokens, seed):
    from synthbank.text.generation import generate_batched

    saved = synthesizer._merge_for_generation()
    try:
        _, stats = generate_batched(synthesizer.model_, synthesizer.tokenizer_, prompts, temperature=0.8, top_p=0.95,
                                    max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed)
    finally:
        synthesizer._unmerge(saved)
    return stats.tokens_per_second


def conditioning(real, synthetic_context, texts):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    rows = []
    for column in ("product", "issue"):
        train, test = train_test_split(real, test_size=0.3, random_state=0)
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        classifier = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(train.narrative), train[column])
        real_accuracy = (classifier.predict(vectorizer.transform(test.narrative)) == test[column]).mean()
        keep = texts.notna().to_numpy()
        synthetic_accuracy = (classifier.predict(vectorizer.transform(texts[keep])) == synthetic_context[column][keep]).mean()
        rows.append((column, real_accuracy, synthetic_accuracy, 1 / real[column].nunique()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--texts", type=int, default=128, help="narratives generated for the quality check")
    parser.add_argument("--speed-prompts", type=int, default=64, help="prompts for the default-batch speed run (batch 1 gets a quarter)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from synthbank.demo_bank import generate_demo_bank
    from synthbank.text.memorization import CopyFilter
    from synthbank.text.prompt import build_prompts
    from synthbank.text.scrub import PiiScrubber
    from synthbank.text.settings import GenerationSettings
    from synthbank.text.synthesizer import TextSynthesizer

    first, cached = cold_load_seconds()
    print(f"base model load: first {first:.1f} s (GGUF conversion), cached {cached:.2f} s — ratio {first / cached:.0f}x")

    tables = generate_demo_bank(users=args.users, seed=args.seed)
    users = tables["users"]
    complaints = tables["complaints"].merge(users[["user_id", "full_name", "email", "phone"]], on="user_id")
    real = complaints.dropna(subset=["narrative"]).reset_index(drop=True)
    pii = {"name": users.full_name.tolist(), "email": users.email.tolist(), "phone": users.phone.tolist(), "ssn": users.ssn.tolist()}
    context = ["product", "sub_product", "issue", "submitted_via"]

    start = time.perf_counter()
    synthesizer = TextSynthesizer(training={"epochs": args.epochs}).fit(real, "narrative", context, pii_values=pii)
    stats = synthesizer.training_stats_
    print(f"LoRA training: {stats.examples} texts, {stats.steps} steps, {stats.tokens:,} tokens in {stats.seconds:.0f} s "
          f"= {stats.tokens_per_second:.0f} tokens/s (fit total {time.perf_counter() - start:.0f} s, final loss {stats.final_loss:.2f})")

    default_batch = GenerationSettings().batch_size
    max_new = GenerationSettings().max_new_tokens
    prompts = build_prompts(synthesizer.sample_context(args.speed_prompts, seed=args.seed + 1), context)
    for batch in (1, default_batch):
        subset = prompts[:max(4, len(prompts) // 4)] if batch == 1 else prompts
        plain = plain_generate(synthesizer.model_, synthesizer.tokenizer_, subset, batch, max_new, args.seed)
        ours = synthbank_generate(synthesizer, subset, batch, max_new, args.seed)
        print(f"generation batch {batch:>2} ({len(subset)} prompts, ≤{max_new} new tokens): plain model.generate loop "
              f"{plain:.1f} tokens/s, synthbank {ours:.1f} tokens/s — ratio {ours / plain:.2f}")

    synthetic_context = synthesizer.sample_context(args.texts, seed=args.seed + 2)
    real_pii = PiiScrubber(pii)
    start = time.perf_counter()
    texts = synthesizer.generate(synthetic_context, seed=args.seed + 2, forbidden=real_pii)
    print(f"generated {texts.notna().sum()} narratives in {time.perf_counter() - start:.0f} s "
          f"({synthesizer.generation_stats_.tokens_per_second:.0f} tokens/s); redrawn as copies: {synthesizer.rejected_copies_}")
    for column, real_accuracy, synthetic_accuracy, chance in conditioning(real, synthetic_context, texts):
        print(f"conditioning on {column}: classifier accuracy on synthetic {synthetic_accuracy:.3f} "
              f"vs real holdout {real_accuracy:.3f} (chance {chance:.3f}); ratio {synthetic_accuracy / real_accuracy:.2f}")
    leaks = sum(bool(real_pii.find(t)) for t in texts.dropna())
    exact = CopyFilter(real.narrative, ngram=10 ** 6)  # whole-text matches only
    ngram8 = CopyFilter(real.narrative, ngram=8)
    print(f"privacy: texts with a real PII value {leaks}; exact copies of a training text "
          f"{sum(exact.copies(t) for t in texts.dropna())}; sharing an 8-word run with a training text "
          f"{sum(ngram8.copies(t) for t in texts.dropna())}/{texts.notna().sum()} (the filter's calibrated run: "
          f"{synthesizer.copy_filter_.ngram} words)")
    print("sample:")
    for i in range(3):
        print(f"  [{synthetic_context['product'][i]} / {synthetic_context['issue'][i]}] {texts[i]}")


if __name__ == "__main__":
    main()
