"""synthbank: privacy-safe synthetic copies of financial databases."""

__version__ = "0.1.0"


def __getattr__(name):  # lazy, so `import synthbank` stays fast
    if name in ("DatabaseSynthesizer", "SyntheticDatabase"):
        from synthbank import synthesizer

        return getattr(synthesizer, name)
    if name == "TextSynthesizer":
        from synthbank.text import TextSynthesizer

        return TextSynthesizer
    if name in ("evaluate", "evaluate_urls"):
        from synthbank import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'synthbank' has no attribute {name!r}")
