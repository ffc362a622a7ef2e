"""Free text: a LoRA-tuned small LLM writes narratives conditioned on the synthetic row."""
