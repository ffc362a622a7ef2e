"""``TextSynthesizer``: a LoRA-tuned causal LM that writes a text column given the row's other fields.

    ts = TextSynthesizer().fit(complaints, "narrative", ["product", "issue", "state"])
    ts.generate(synthetic_complaints)          # one narrative per row
    ts.generate(n=100, where={"product": "Credit card"})
    ts.save("narratives/"); TextSynthesizer.load("narratives/")

Training texts are scrubbed of PII first (see :mod:`synthbank.text.scrub`); generated texts that copy a
training text are drawn again (see :mod:`synthbank.text.memorization`). A saved model holds the LoRA
adapter (safetensors), its settings and the context frequencies as JSON, and refers to its base model by
name; it holds no training text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from faker import Faker

from synthbank import seeding
from synthbank.errors import SynthbankError, TextModelError
from synthbank.files import staged_directory
from synthbank.progress import Progress, report
from synthbank.protection import DEFAULT_RARE_THRESHOLD, RareGuard, check_threshold
from synthbank.text.base_model import DEFAULT_BASE_MODEL, load_base_model, resolve_base_model, uses_bfloat16
from synthbank.text.context import ContextSampler
from synthbank.text.generation import GenerationStats, generate_batched
from synthbank.text.memorization import CopyFilter, calibrate_ngram
from synthbank.text.prompt import build_prompts
from synthbank.text.scrub import PiiScrubber, fill_placeholders
from synthbank.text.settings import GenerationSettings, LoraSettings, TrainingSettings
from synthbank.text.training import TrainingStats, add_lora, data_length, train_lora

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: keyed Bloom copy filter, rare context values protected
#: generation stops at the longest text the training data suggests: a fifth above its 99th percentile
NEW_TOKENS_MARGIN, MAX_AUTO_NEW_TOKENS = 1.2, 1024


def _clean_texts(values: pd.Series, column: str) -> pd.Series:
    """Texts as ``str`` (bytes decoded as UTF-8), refusing bytes that are not UTF-8 text."""
    def one(value):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            try:
                return bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise TextModelError(f"Column '{column}' holds bytes that are not UTF-8 text.") from None
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise TextModelError(f"Column '{column}' holds characters that are not valid UTF-8 text.") from None
        return text
    return values.map(one)


def learned_max_new_tokens(tokenizer, texts: Sequence[str], max_length: int) -> int:
    """Room for the longest texts of the data: a fifth above the 99th percentile of their tokens (end token
    included), rounded up to a multiple of 8, at most :data:`MAX_AUTO_NEW_TOKENS`."""
    lengths = [len(ids) + 1 for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
    wanted = int(np.ceil(np.percentile(lengths, 99) * NEW_TOKENS_MARGIN / 8) * 8)
    return max(8, min(wanted, MAX_AUTO_NEW_TOKENS, max(max_length, 8) * 2))


def _base_signature(model) -> dict:
    config = model.config
    return {k: getattr(config, k, None) for k in ("model_type", "hidden_size", "num_hidden_layers", "vocab_size")}


class TextSynthesizer:
    """Learn to write ``text_column`` from ``context_columns`` with LoRA on a small causal LM.

    ``base_model``: ``"smollm2-135m-instruct"`` (default, offline), a Hugging Face id or a local directory.
    ``lora``, ``training``, ``generation``: :mod:`synthbank.text.settings` objects (or dicts).
    ``device``: ``"cpu"``, ``"cuda"``… (default: a GPU when one is visible).
    ``rare_threshold``: a context value seen in fewer training rows never reaches the prompts or the saved
    context frequencies (default 5; see :mod:`synthbank.protection`).
    """

    def __init__(self, base_model: str | None = None, *, lora: LoraSettings | dict | None = None,
                 training: TrainingSettings | dict | None = None, generation: GenerationSettings | dict | None = None,
                 device: str | None = None, rare_threshold: int | None = None):
        self.rare_threshold = rare_threshold
        self.base_model = base_model or DEFAULT_BASE_MODEL
        self.lora = lora if isinstance(lora, LoraSettings) else LoraSettings.from_dict(lora)
        self.training = training if isinstance(training, TrainingSettings) else TrainingSettings.from_dict(training)
        self.generation = generation if isinstance(generation, GenerationSettings) else GenerationSettings.from_dict(generation)
        self.device = device

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame, text_column: str, context_columns: Sequence[str] = (), *,
            pii_values: Mapping[str, Iterable] | None = None, progress: Progress | None = None,
            balance_by: str | None = None) -> TextSynthesizer:
        """Fine-tune on the non-empty texts of ``data[text_column]`` given ``data[context_columns]``.

        ``pii_values`` (PII kind → real values, e.g. ``{"name": users.full_name}``) are scrubbed from the
        texts besides the pattern-based PII. ``balance_by``: the context column whose rare values are drawn
        more often in training (``training.context_balance``); default the first context column.
        """
        context_columns = list(context_columns)
        missing = [c for c in [text_column, *context_columns] if c not in data.columns]
        if missing:
            raise TextModelError(f"Column(s) {', '.join(repr(c) for c in missing)} not found in the training data "
                                 f"(it has: {', '.join(map(str, data.columns))}).")
        if text_column in context_columns:
            raise TextModelError(f"The text column '{text_column}' cannot also be a context column.")
        balance_by = balance_by or (context_columns[0] if context_columns else None)
        if balance_by is not None and balance_by not in context_columns:
            raise TextModelError(f"balance_by names '{balance_by}', which is not a context column "
                                 f"(context columns: {', '.join(context_columns) or 'none'}).")
        texts = _clean_texts(data[text_column], text_column)
        keep = texts.notna() & (texts.fillna("").str.strip() != "")
        if not keep.any():
            raise TextModelError(f"The text column '{text_column}' has no non-empty text to learn from.")
        rows = data.loc[keep, context_columns].reset_index(drop=True)
        texts = texts[keep].reset_index(drop=True)
        self.rare_threshold_ = check_threshold(DEFAULT_RARE_THRESHOLD if self.rare_threshold is None else self.rare_threshold)
        for column in context_columns:  # a value few rows share never reaches a prompt or the saved frequencies
            rows[column] = RareGuard.fit(rows[column], self.rare_threshold_).protect(rows[column])
        self.context_ = ContextSampler.fit(rows, min_count=self.rare_threshold_)  # all rows with a text
        limit = self.training.max_examples
        if limit is not None and len(texts) > limit:
            pick = np.sort(np.random.default_rng(self.training.seed).choice(len(texts), limit, replace=False))
            rows, texts = rows.iloc[pick].reset_index(drop=True), texts.iloc[pick].reset_index(drop=True)

        scrubber = PiiScrubber(pii_values)
        scrubbed = [" ".join(scrubber.scrub(t).split()) for t in texts]
        ngram = self.generation.copy_ngram or calibrate_ngram(scrubbed, seed=self.training.seed)
        self.copy_filter_ = CopyFilter(scrubbed, ngram)
        self.text_column_, self.context_columns_ = text_column, context_columns

        loaded = load_base_model(self.base_model, device=self.device)
        self.base_model_, self.tokenizer_ = loaded.name, loaded.tokenizer
        self.base_signature_ = _base_signature(loaded.model)
        self.model_ = add_lora(loaded.model, self.lora, self.training.seed)
        self._generators = {}
        prompts = build_prompts(rows, context_columns)
        limit = getattr(loaded.model.config, "max_position_embeddings", None)
        max_length = self.training.max_length or data_length(self.tokenizer_, prompts, scrubbed, limit)
        self.max_new_tokens_ = learned_max_new_tokens(self.tokenizer_, scrubbed, max_length)
        device = next(self.model_.parameters()).device
        use_bf16 = uses_bfloat16(self.training.precision, device) and self.training.dp_epsilon is None
        on_step = (lambda step, steps, loss: report(progress, "training", text_column, step, steps)) if progress else None
        self.training_stats_ = train_lora(self.model_, self.tokenizer_, prompts, scrubbed, self.training,
                                          progress=on_step, use_bf16=use_bf16, max_length=max_length,
                                          groups=None if balance_by is None else rows[balance_by].tolist())
        stats = self.training_stats_
        log.info("trained %s: %d examples, %d steps (%s), %.0f tokens/s, loss %.3f, validation loss %s", text_column,
                 stats.examples, stats.steps, stats.stopped, stats.tokens_per_second, stats.final_loss,
                 "-" if stats.validation_loss is None else f"{stats.validation_loss:.3f}")
        return self

    @property
    def dp_(self) -> dict | None:
        """The differential-privacy guarantee of the adapter (``epsilon``, ``delta``, noise…), None without DP."""
        self._check_fitted()
        return self.training_stats_.dp

    # ------------------------------------------------------------------ generate
    def sample_context(self, n: int, *, seed: int = 0, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """``n`` context rows drawn from the training frequencies (``where`` fixes some columns)."""
        self._check_fitted()
        return self.context_.sample(n, seeding.rng(seed, "context"), where)

    def generate(self, context: pd.DataFrame | None = None, n: int | None = None, *, seed: int = 0,
                 where: Mapping[str, object] | None = None, row_values: pd.DataFrame | None = None,
                 forbidden: PiiScrubber | None = None, progress: Progress | None = None,
                 **options) -> pd.Series:
        """One text per row of ``context`` (or per row of ``n`` sampled contexts), as a Series.

        ``options`` override :class:`GenerationSettings` fields for this call (``temperature``,
        ``max_new_tokens``…). ``row_values`` holds per-row values for placeholders (columns ``NAME``,
        ``EMAIL``…: e.g. the synthetic customer's own name); ``forbidden`` holds real PII values that a
        generated text must not contain. Rows whose every draw copies a training text get None.
        """
        self._check_fitted()
        settings = self.generation.replace(**options) if options else self.generation
        if context is None:
            if n is None:
                raise SynthbankError("Pass context rows or a number of texts (n) to generate().")
            context = self.sample_context(n, seed=seed, where=where)
        missing = [c for c in self.context_columns_ if c not in context.columns]
        if missing:
            raise TextModelError(f"The context rows lack column(s) {', '.join(missing)} that this text model was trained with.")
        prompts = build_prompts(context.reset_index(drop=True), self.context_columns_)
        raw: list[str | None] = [None] * len(prompts)
        todo = list(range(len(prompts)))
        self.generation_stats_ = GenerationStats(0, 0, 0.0)
        self.rejected_copies_ = 0
        model = self.generation_model(settings.precision)
        for attempt in range(settings.max_attempts):
            if not todo:
                break
            label = self.text_column_ + (f" (redraw {attempt})" if attempt else "")
            texts, stats = generate_batched(
                model, self.tokenizer_, [prompts[i] for i in todo],
                temperature=settings.temperature + 0.1 * attempt, top_p=settings.top_p, top_k=settings.top_k,
                max_new_tokens=settings.max_new_tokens or self.max_new_tokens_, batch_size=settings.batch_size,
                seed=seeding.int_seed(seed, "draw", attempt),
                progress=(lambda done, total, label=label: report(progress, "generating", label, done, total)) if progress else None)
            self.generation_stats_ = self.generation_stats_ + stats
            again = []
            for i, text in zip(todo, texts):
                text = PiiScrubber().scrub(" ".join(text.split()))  # invented emails, phones… become placeholders
                if forbidden is not None:
                    text = forbidden.scrub(text)
                if not text or self.copy_filter_.copies(text):
                    self.rejected_copies_ += bool(text)
                    again.append(i)
                else:
                    raw[i] = text
            todo = again
        if todo:
            log.warning("%d of %d generated texts still copied a training text (or were empty) after %d draws; left empty",
                        len(todo), len(prompts), settings.max_attempts)
        faker = Faker("en_US")
        faker.seed_instance(seeding.int_seed(seed, "faker"))
        rows = row_values.reset_index(drop=True).to_dict("records") if row_values is not None else None
        out = [None if text is None else fill_placeholders(text, faker, mode=settings.pii_fill,
                                                           row_values=rows[i] if rows else None, forbidden=forbidden)
               for i, text in enumerate(raw)]
        return pd.Series(out, index=context.index, name=self.text_column_, dtype=object)

    def generation_model(self, precision: str = "auto"):
        """The model generation runs on: a copy with the LoRA update folded into the weights (so it runs at the
        base model's speed), in bfloat16 where ``precision`` says so; made once per precision."""
        import copy

        import torch

        device = next(self.model_.parameters()).device
        dtype = torch.bfloat16 if uses_bfloat16(precision, device) else torch.float32
        if dtype not in self._generators:
            merged = copy.deepcopy(self.model_).merge_and_unload()
            self._generators[dtype] = merged.to(dtype).eval()
        return self._generators[dtype]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write the adapter (safetensors), settings and context frequencies (JSON) to ``directory``."""
        self._check_fitted()
        with staged_directory(directory) as staging:
            self.model_.save_pretrained(staging, safe_serialization=True)
            state = {
                "format": FORMAT_VERSION, "base_model": self.base_model_, "base_signature": self.base_signature_,
                "text_column": self.text_column_, "context_columns": self.context_columns_,
                "lora": self.lora.to_dict(), "training": self.training.to_dict(), "generation": self.generation.to_dict(),
                "training_stats": asdict(self.training_stats_), "context": self.context_.to_dict(),
                "copy_filter": self.copy_filter_.to_dict(), "rare_threshold": self.rare_threshold_,
                "max_new_tokens": self.max_new_tokens_, "dp": self.training_stats_.dp,
            }
            (staging / "text_model.json").write_text(json.dumps(state, default=str))
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, *, base_model: str | None = None, device: str | None = None) -> TextSynthesizer:
        """Load a model written by :meth:`save` on top of its base model (or ``base_model``, which must match)."""
        from peft import PeftModel

        directory = Path(directory)
        state_file = directory / "text_model.json"
        if not state_file.is_file():
            raise TextModelError(f"'{directory}' is not a synthbank text model directory (no text_model.json).")
        state = json.loads(state_file.read_text())
        if state.get("format") != FORMAT_VERSION:
            raise TextModelError(f"'{directory}' was written by an incompatible synthbank version (format {state.get('format')}).")
        if base_model is not None and resolve_base_model(base_model)[0] != state["base_model"]:
            raise TextModelError(f"The text model in '{directory}' was trained on '{state['base_model']}', not '{base_model}'.")
        self = cls(state["base_model"], lora=state["lora"], training=state["training"],
                   generation=state["generation"], device=device, rare_threshold=state["rare_threshold"])
        self.rare_threshold_ = state["rare_threshold"]
        loaded = load_base_model(state["base_model"], device=device)
        self.base_model_ = state["base_model"]
        signature = _base_signature(loaded.model)
        if signature != state["base_signature"]:
            raise TextModelError(f"The text model in '{directory}' does not fit the base model '{state['base_model']}' found here "
                                 f"({signature} vs {state['base_signature']}).")
        self.model_ = PeftModel.from_pretrained(loaded.model, directory)
        self.model_.eval()
        self._generators = {}
        self.max_new_tokens_ = state.get("max_new_tokens") or 128  # models saved before lengths were learned
        self.tokenizer_, self.base_signature_ = loaded.tokenizer, signature
        self.text_column_, self.context_columns_ = state["text_column"], state["context_columns"]
        self.training_stats_ = TrainingStats(**state["training_stats"])
        self.context_ = ContextSampler.from_dict(state["context"])
        self.copy_filter_ = CopyFilter.from_dict(state["copy_filter"])
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise SynthbankError("This text synthesizer is not fitted yet: call fit() first (or load a model).")


__all__ = ["TextSynthesizer", "LoraSettings", "TrainingSettings", "GenerationSettings"]
