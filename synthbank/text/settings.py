"""Every tunable of the text engine, as typed settings (saved as JSON beside the adapter).

The defaults are sized for a 2-core CPU: LoRA on every linear layer, bf16 where the processor has it,
sequence lengths taken from the data, and a held-out loss that stops training when it stops improving.
``max_minutes`` turns the step count into a time budget. On a GPU raise ``epochs`` and the batch sizes. Fields marked
``cli`` are the ``--text-*`` options of ``synthbank clone|fit|complaints train`` (see :mod:`synthbank.settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from synthbank.settings import Settings, setting

#: every linear layer of a Llama-style block (PEFT's "all-linear" resolves to the same for those models)
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
Precision = Literal["auto", "bfloat16", "float32"]


@dataclass
class LoraSettings(Settings):
    """PEFT LoRA: rank, scaling, dropout and the linear layers that get adapters."""

    r: int = setting(16, "LoRA rank", ge=1)
    alpha: int = setting(32, "LoRA scaling (alpha)", gt=0)
    dropout: float = setting(0.05, "dropout on the adapters", ge=0, lt=1)
    target_modules: list[str] | str = setting(default_factory=lambda: list(ALL_LINEAR),
                                              help="the linear layers that get adapters (names, or 'all-linear')")


@dataclass
class TrainingSettings(Settings):
    """How long and how the adapter is trained."""

    epochs: float = setting(3.0, "passes over the texts", gt=0, cli=True)
    min_steps: int = setting(48, "small data: keep going past the epochs until this many steps "
                                 "(one epoch of 150 texts is 38)", ge=0)
    max_steps: int | None = setting(None, "stop training after N steps", ge=1, cli=True)
    max_minutes: float | None = setting(10.0, "time budget: stop training after M minutes (the learning rate "
                                              "decays over the budget; None: no limit)", gt=0, cli="train_minutes", metavar="M")
    batch_size: int = setting(4, "texts per training step", ge=1)
    context_balance: float = setting(0.0, "draw the texts of rare values of the context field the texts depend on "
                                          "most more often: each value in proportion to its count^(1 - B) "
                                          "(0: as in the data, 1: every value equally; 0.5 for a clone to be "
                                          "rebalanced; not under DP)",
                                     ge=0, le=1, cli="balance", metavar="B")
    learning_rate: float = setting(2e-3, "peak learning rate", gt=0)
    warmup_share: float = setting(0.05, "share of the steps spent warming up", ge=0, lt=1)
    max_length: int | None = setting(None, "tokens of prompt + text; longer texts are truncated (with a warning). "
                                           "None: the 99th percentile of the data, at most 512", ge=8)
    max_examples: int | None = setting(2000, "train on at most N texts", ge=1, cli=True)
    validation_share: float = setting(0.1, "share of the texts held out for the validation loss "
                                           "(at most 32 texts; none below 40 texts or under DP)", ge=0, lt=0.5)
    patience: int = setting(2, "stop when the validation loss has not improved for this many evaluations "
                               "(about 8 per run); the best adapter is kept", ge=1)
    precision: Precision = setting("auto", "bfloat16 autocast (auto: where the processor supports it) or float32")
    dp_epsilon: float | None = setting(None, "train with differential privacy (DP-SGD, Opacus) to this epsilon",
                                       gt=0, cli="dp_epsilon", metavar="E")
    dp_delta: float = setting(1e-5, "the delta of the DP guarantee", gt=0, lt=1, cli="dp_delta", metavar="D")
    dp_max_grad_norm: float = setting(1.0, "DP: every text's gradient is clipped to this norm", gt=0)
    dp_noise_multiplier: float | None = setting(None, "DP: noise as a multiple of the clipping norm "
                                                      "(None: the least that spends epsilon over the planned steps)", gt=0)
    dp_batch_size: int = setting(32, "DP: expected texts per step (Poisson sampling; larger batches need less noise)", ge=1)
    seed: int = setting(0, "seed of the subset, the order and the adapter's initialisation")


@dataclass
class GenerationSettings(Settings):
    """Sampling options for :meth:`TextSynthesizer.generate`."""

    temperature: float = setting(0.8, "sampling temperature", gt=0)
    top_p: float = setting(0.95, "nucleus sampling share", gt=0, le=1)
    top_k: int | None = setting(50, "sample among the k most likely tokens (None: all), before top-p", ge=1)
    max_new_tokens: int | None = setting(None, "longest generated text in tokens (None: learned at fit, "
                                               "a fifth above the 99th percentile of the training texts)", ge=1, cli=True)
    batch_size: int = setting(32, "texts generated together", ge=1)
    pii_fill: Literal["faker", "mask"] = setting("faker", "placeholders become fake values (faker) or CFPB-style XXXX (mask)")
    copy_ngram: int | None = setting(None, "reject texts sharing this many tokens in a row with a training text; "
                                           "None: calibrated at fit", ge=1)
    max_attempts: int = setting(4, "draws per row before a copying text is given up (left empty)", ge=1)
    precision: Precision = setting("auto", "generate with a bfloat16 copy of the model (auto: where the processor "
                                           "supports it) or in float32")


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


__all__ = ["ALL_LINEAR", "LoraSettings", "TrainingSettings", "GenerationSettings", "TextSettings"]
