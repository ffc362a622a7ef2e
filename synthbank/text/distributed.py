"""Texts generated in fixed chunks of context rows: in this process, in worker processes, or on Ray Data actors.

The rows to write are cut into chunks of :data:`TEXT_CHUNK` rows in their order, and chunk ``i`` is generated
with a seed of its own (the call's seed and ``i``): which worker writes a chunk, and how many workers there
are, cannot change a text. Workers get the text model once — its saved directory as bytes (the LoRA adapter,
settings and copy filter; a few MB) with the real PII values texts must not contain — and load it on top
of their own copy of the base model, once per process or Ray actor. On Ray, generation runs as Ray Data
``map_batches`` over the chunks with a pool of actors. Every chunk is computed with the driver's number
of torch threads, wherever it runs: the float sums of the matrix products (and so, where two tokens are
nearly tied, the texts) depend on it. Workers sharing few cores therefore oversubscribe them; on a
small machine the texts are fastest in-process.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from synthbank import seeding
from synthbank.executors import Executor, InProcess, RayExecutor, import_ray
from synthbank.progress import Progress, report

#: Context rows per chunk of generated texts (a unit of work; it sets which rows share a seed).
TEXT_CHUNK = 64

#: text models already loaded in this worker process, by the digest of their files
_LOADED: dict[str, object] = {}
#: the payload of each fitted model in the driver (made once; dropped with the model)
_PAYLOADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def generate_in_chunks(model, context: pd.DataFrame, *, seed: int, row_values: pd.DataFrame | None = None,
                       forbidden=None, executor: Executor | None = None, progress: Progress | None = None,
                       label: str = "", **options) -> pd.Series:
    """One text per row of ``context`` (``model``: a fitted TextSynthesizer), the same for a seed with
    every executor; ``progress`` gets a ``generating`` event per finished chunk."""
    import torch

    context = context.reset_index(drop=True) if context is not None else context
    threads = torch.get_num_threads()  # every worker computes with as many: float sums, and so texts, depend on it
    chunks = [(i, context.iloc[start:start + TEXT_CHUNK],
               None if row_values is None else row_values.reset_index(drop=True).iloc[start:start + TEXT_CHUNK],
               seeding.int_seed(seed, "text chunk", i), options, threads)
              for i, start in enumerate(range(0, len(context), TEXT_CHUNK))]
    executor = executor or InProcess()
    if isinstance(executor, InProcess):
        results = (_generate(model, forbidden, chunk) for chunk in chunks)
    else:
        payload = model_payload(model, forbidden)
        if isinstance(executor, RayExecutor):
            results = _on_ray_data(executor, payload, chunks)
        else:
            results = executor.map(_generate_chunk, payload, chunks, uses_torch=True)
    texts: list = []
    report(progress, "generating", label, 0, len(context))
    for result in results:
        texts.extend(result)
        report(progress, "generating", label, len(texts), len(context))
    return pd.Series(texts, index=range(len(context)), name=getattr(model, "text_column_", None), dtype=object)


def _generate(model, forbidden, chunk) -> list:
    """One chunk's texts, computed on the driver's number of torch threads: the matrix products split their
    sums by the thread count, so a worker on its own share of the CPUs would draw other tokens where two are
    nearly tied (measured: 16 of 109 demo narratives differed between 2 threads and 1)."""
    import torch

    _, context, row_values, seed, options, threads = chunk
    before = torch.get_num_threads()
    torch.set_num_threads(threads)  # always: a thread-pool limit set around torch (threadpoolctl) is undone too
    try:
        return model.generate(context, seed=seed, row_values=row_values, forbidden=forbidden, **options).tolist()
    finally:
        torch.set_num_threads(before)


# --- the model sent to workers -------------------------------------------------------------------------------
def model_payload(model, forbidden) -> dict:
    """The fitted text model as bytes (its saved directory, tarred) and the real PII values to keep out;
    made once per model and reused by every later block."""
    cached = _PAYLOADS.get(model)
    if cached is not None and cached["forbidden"] is forbidden:
        return cached
    with tempfile.TemporaryDirectory(prefix="synthbank-text-") as folder:
        model.save(Path(folder) / "model")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(Path(folder) / "model", arcname="model")
    files = buffer.getvalue()
    payload = {"files": files, "digest": hashlib.sha256(files).hexdigest(), "forbidden": forbidden,
               "text_column": getattr(model, "text_column_", None), "device": getattr(model, "device", None)}
    _PAYLOADS[model] = payload
    return payload


def load_payload(payload: dict):
    """The text model of ``payload``, loaded once per process (later calls reuse it)."""
    if payload["digest"] not in _LOADED:
        from synthbank.text.synthesizer import TextSynthesizer

        folder = tempfile.mkdtemp(prefix="synthbank-text-")
        with tarfile.open(fileobj=io.BytesIO(payload["files"]), mode="r") as tar:
            tar.extractall(folder, filter="data")
        model = TextSynthesizer.load(Path(folder) / "model", device=payload.get("device"))
        if payload.get("text_column"):
            model.text_column_ = payload["text_column"]
        _LOADED[payload["digest"]] = model
    return _LOADED[payload["digest"]]


def _generate_chunk(payload: dict, chunk) -> list:
    """A task: one chunk's texts in a worker process."""
    return _generate(load_payload(payload), payload["forbidden"], chunk)


# --- Ray Data -----------------------------------------------------------------------------------------------
class _TextActor:
    """A Ray Data actor: loads the text model once, then writes the texts of each chunk it is given."""

    def __init__(self, payload, threads: int):
        ray = import_ray()
        if isinstance(payload, ray.ObjectRef):
            payload = ray.get(payload)
        import torch

        torch.set_num_threads(threads)
        self.payload = payload
        self.model = load_payload(payload)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        out = []
        for index, blob in zip(batch["chunk"], batch["payload"]):
            chunk = pickle.loads(blob)
            out.append({"chunk": int(index), "texts": pickle.dumps(_generate(self.model, self.payload["forbidden"], chunk))})
        return pd.DataFrame(out)


def _on_ray_data(executor: RayExecutor, payload: dict, chunks: list) -> Iterator[list]:
    """Chunks as rows of a Ray Data dataset (each pickled whole, so no value changes type on the way),
    ``map_batches`` over them with an actor pool, results handed back in chunk order."""
    ray = import_ray()
    if not ray.is_initialized():
        executor.connect()
    from ray import data as ray_data

    if not chunks:
        return
    context = ray_data.DataContext.get_current()
    context.execution_options.preserve_order = True
    # one block per chunk, so that every actor of the pool gets work (one frame would be one block, one task)
    dataset = ray_data.from_pandas([pd.DataFrame({"chunk": [c[0]], "payload": [pickle.dumps(c)]}) for c in chunks])
    actors = max(1, min(executor.workers, len(chunks)))
    threads = max(1, executor.workers // actors)
    written = dataset.map_batches(_TextActor, fn_constructor_args=(ray.put(payload), threads), batch_size=1,
                                  concurrency=actors, num_cpus=threads, batch_format="pandas")
    waiting: dict[int, list] = {}
    expected = 0
    try:
        for batch in written.iter_batches(batch_size=None, batch_format="pandas"):
            for index, blob in zip(batch["chunk"], batch["texts"]):
                waiting[int(index)] = pickle.loads(blob)
            while expected in waiting:
                yield waiting.pop(expected)
                expected += 1
    except Exception as exc:  # Ray Data wraps a failed actor's error; say it in one sentence
        from synthbank.errors import SynthbankError

        if isinstance(exc, SynthbankError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SynthbankError(f"Generating texts on Ray failed: {first[:300]}") from None
    if expected != len(chunks):
        from synthbank.errors import SynthbankError

        raise SynthbankError(f"Ray returned the texts of {expected} of {len(chunks)} chunks.")
