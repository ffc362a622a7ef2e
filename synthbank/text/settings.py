"""Small config dataclasses for every tunable of the text engine (saved as JSON beside the adapter).

The defaults are sized for a 2-core CPU: short sequences, one pass over at most a few hundred examples,
and batched generation. On a GPU raise ``epochs``, ``max_length`` and the batch sizes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class LoraSettings:
    """PEFT LoRA: rank, scaling, dropout and the attention projections that get adapters."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class TrainingSettings:
    """How long and how the adapter is trained."""

    epochs: float = 1.0
    min_steps: int = 48  # small data: keep going past ``epochs`` until this many steps (one epoch of 150 texts is 19)
    max_steps: int | None = None  # stops earlier than ``epochs`` / ``min_steps`` when set
    batch_size: int = 8
    learning_rate: float = 2e-3
    warmup_share: float = 0.05
    max_length: int = 160  # tokens of prompt + text; longer texts are truncated (with a warning)
    max_examples: int | None = 2000  # train on a random subset of at most this many rows
    seed: int = 0


@dataclass
class GenerationSettings:
    """Sampling options for :meth:`TextSynthesizer.generate`."""

    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 128
    batch_size: int = 32
    pii_fill: str = "faker"  # "faker": placeholders become fake values; "mask": CFPB-style XXXX
    copy_ngram: int | None = None  # reject texts sharing this many tokens in a row with a training text; None: calibrated at fit
    max_attempts: int = 4  # draws per row before a copying text is given up (left empty)


def from_dict(cls, data: dict | None):
    """Build a settings object from a dict, refusing unknown keys with a clear message."""
    from synthbank.errors import SynthbankError

    data = dict(data or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SynthbankError(f"Unknown {cls.__name__} option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))}).")
    return cls(**data)


__all__ = ["LoraSettings", "TrainingSettings", "GenerationSettings", "asdict", "from_dict"]
