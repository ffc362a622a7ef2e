"""``synthbank complaints train`` and ``generate``: a text model and a corpus of texts from it.
"""

from __future__ import annotations

from synthbank.cli.console import console, progress_display
from synthbank.cli.options import executor_from_args, parse_where, text_settings
from synthbank.cli.output import text_training_line


def cmd_complaints_train(args) -> None:
    from synthbank.text.corpus import train_text_model

    context = [c.strip() for c in args.context.split(",") if c.strip()] if args.context else []
    with progress_display() as (progress, _):
        model = train_text_model(args.data, args.text, context, args.model, table=args.table, progress=progress,
                                 rare_threshold=args.rare_threshold, **text_settings(args).synthesizer_options())
    from synthbank.text.tables import training_summary

    console.print(f"Text model saved to {args.model}.")
    console.print(text_training_line(args.text, training_summary(model.training_stats_, model.max_new_tokens_)),
                  markup=False, highlight=False, soft_wrap=True)


def cmd_complaints_generate(args) -> None:
    from synthbank.text.corpus import generate_corpus

    options = {k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p),
                                 ("max_new_tokens", args.max_new_tokens), ("batch_size", args.batch_size),
                                 ("pii_fill", args.pii_fill)) if v is not None}
    with progress_display() as (progress, _), executor_from_args(args) as executor:
        corpus = generate_corpus(args.model, args.out, n=args.n, where=parse_where(args.where),
                                 context_from=args.context_from, seed=args.seed, device=args.device,
                                 progress=progress, executor=executor, **options)
    console.print(f"Wrote {len(corpus):,} texts to {args.out}.")
