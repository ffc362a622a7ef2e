"""Free text: a LoRA-tuned small LLM writes narratives conditioned on the synthetic row."""

from synthbank.text.settings import GenerationSettings, LoraSettings, TextSettings, TrainingSettings
from synthbank.text.synthesizer import TextSynthesizer

__all__ = ["TextSynthesizer", "LoraSettings", "TrainingSettings", "GenerationSettings", "TextSettings"]
