"""Every tunable of the text engine, as typed settings (saved as JSON beside the adapter).

The defaults are sized for a 2-core CPU: short sequences, one pass over at most a few hundred examples,
and batched generation. On a GPU raise ``epochs``, ``max_length`` and the batch sizes. Fields marked
``cli`` are the ``--text-*`` options of ``synthbank clone|fit|complaints train`` (see :mod:`synthbank.settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from synthbank.settings import Settings, setting


@dataclass
class LoraSettings(Settings):
    """PEFT LoRA: rank, scaling, dropout and the attention projections that get adapters."""

    r: int = setting(8, "LoRA rank", ge=1)
    alpha: int = setting(16, "LoRA scaling (alpha)", gt=0)
    dropout: float = setting(0.05, "dropout on the adapters", ge=0, lt=1)
    target_modules: list[str] = setting(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
                                        help="the linear layers that get adapters")


@dataclass
class TrainingSettings(Settings):
    """How long and how the adapter is trained."""

    epochs: float = setting(1.0, "passes over the texts", gt=0, cli=True)
    min_steps: int = setting(48, "small data: keep going past the epochs until this many steps "
                                 "(one epoch of 150 texts is 19)", ge=0)
    max_steps: int | None = setting(None, "stop training after N steps", ge=1, cli=True)
    batch_size: int = setting(8, "texts per training step", ge=1)
    learning_rate: float = setting(2e-3, "peak learning rate", gt=0)
    warmup_share: float = setting(0.05, "share of the steps spent warming up", ge=0, le=1)
    max_length: int = setting(160, "tokens of prompt + text; longer texts are truncated (with a warning)", ge=8)
    max_examples: int | None = setting(2000, "train on at most N texts", ge=1, cli=True)
    seed: int = setting(0, "seed of the subset, the order and the adapter's initialisation")


@dataclass
class GenerationSettings(Settings):
    """Sampling options for :meth:`TextSynthesizer.generate`."""

    temperature: float = setting(0.8, "sampling temperature", gt=0)
    top_p: float = setting(0.95, "nucleus sampling share", gt=0, le=1)
    max_new_tokens: int = setting(128, "longest generated text in tokens", ge=1, cli=True)
    batch_size: int = setting(32, "texts generated together", ge=1)
    pii_fill: Literal["faker", "mask"] = setting("faker", "placeholders become fake values (faker) or CFPB-style XXXX (mask)")
    copy_ngram: int | None = setting(None, "reject texts sharing this many tokens in a row with a training text; "
                                           "None: calibrated at fit", ge=1)
    max_attempts: int = setting(4, "draws per row before a copying text is given up (left empty)", ge=1)


@dataclass
class TextSettings(Settings):
    """The text engine of a :class:`~synthbank.DatabaseSynthesizer`: base model, device and the three above."""

    base_model: str | None = setting(None, "base LLM: smollm2-135m-instruct (default, offline), a Hugging Face "
                                           "id or a local directory", cli="model", metavar="NAME_OR_DIR")
    device: str | None = setting(None, "cpu, cuda, mps… (default: a GPU if one is visible)")
    lora: LoraSettings = setting(default_factory=LoraSettings, help="LoRA adapter")
    training: TrainingSettings = setting(default_factory=TrainingSettings, help="training")
    generation: GenerationSettings = setting(default_factory=GenerationSettings, help="generation")

    def synthesizer_options(self) -> dict:
        """Arguments of :class:`~synthbank.text.TextSynthesizer`."""
        return {"base_model": self.base_model, "device": self.device, "lora": self.lora,
                "training": self.training, "generation": self.generation}


__all__ = ["LoraSettings", "TrainingSettings", "GenerationSettings", "TextSettings"]
