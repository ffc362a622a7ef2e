"""Where independent pieces of work run: in this process, in local worker processes, or on a Ray cluster.

Sampling cuts its output into *blocks* (a share of the root rows with everything under them, a random
stream of its own, see :meth:`RelationalSynthesizer.sample_blocks`) and text generation into *chunks* of
context rows; how many there are depends only on the model, the scale and the chunk size, never on the
number of workers. An executor maps a function over them and hands the results back in order, so the
output for a seed is the same in every executor::

    with LocalProcesses(workers=2) as executor:          # or InProcess(), RayExecutor(address="auto")
        synthesizer.sample_to_url(url, seed=1, executor=executor)

The large object every task needs (the fitted model) is sent once: pickled once per worker process, or
put once into Ray's object store. Results come back as they are ordered, at most a few tasks ahead of the
one the caller is waiting for, so memory does not grow with the number of blocks.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from synthbank.errors import SynthbankError

#: Ray versions this synthbank is tested with (the ``synthbank[ray]`` extra).
RAY_REQUIREMENT = "ray[data]>=2.40,<3"


class Executor:
    """Runs ``fn(shared, item)`` for each item and yields the results in the items' order."""

    #: worker processes (or Ray CPUs) the work is spread over
    workers: int = 1
    name: str = "in-process"

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Iterable, *, uses_torch: bool = False) -> Iterator:
        """``fn(shared, item)`` for each item, in order. ``uses_torch``: the tasks run torch (local worker
        processes are then spawned, not forked: torch's thread pools do not survive a fork)."""
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop what this executor started (worker processes, a local Ray)."""


class InProcess(Executor):
    """Everything in this process, one item after another (the default)."""

    def map(self, fn, shared, items, *, uses_torch=False):
        for item in items:
            yield fn(shared, item)


# --- local worker processes --------------------------------------------------------------------------------
_SHARED: dict[str, Any] = {}


def _install_shared(key: str, payload: bytes | None, threads: int) -> None:
    """Worker start: the shared object, unpickled once per process (a forked one has it already);
    numeric libraries on ``threads`` threads."""
    import cloudpickle

    _limit_threads(threads)
    if payload is not None:
        _SHARED[key] = cloudpickle.loads(payload)


def _run_with_shared(key: str, fn, item):
    return fn(_SHARED[key], item)


def _limit_threads(threads: int) -> None:
    """BLAS, OpenMP and torch in this process on ``threads`` threads (a worker's share of the CPUs)."""
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # comes with scikit-learn; without it the environment variables above still apply
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


class LocalProcesses(Executor):
    """``workers`` processes on this machine, each with ``cpus // workers`` threads for its numeric work.

    Workers start by ``fork`` (fast: they inherit the model already in memory), or by ``spawn`` for work
    that runs torch, whose thread pools do not survive a fork (the model is then pickled once per worker).
    """

    def __init__(self, workers: int = 2, *, start_method: str | None = None):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise SynthbankError(f"workers must be a whole number of at least 1, got {workers!r}.")
        self.workers = workers
        self.start_method = start_method
        self.name = f"{workers} local processes"

    def map(self, fn, shared, items, *, uses_torch=False):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        import cloudpickle

        method = self.start_method or ("spawn" if uses_torch else "fork")
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        key = f"{os.getpid()}-{id(shared)}-{len(_SHARED)}"  # maps may nest (texts inside a block's loop)
        if method == "fork":  # the children inherit it: nothing to pickle
            _SHARED[key], payload = shared, None
        else:
            payload = cloudpickle.dumps(shared)
        try:
            with ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method),
                                     initializer=_install_shared, initargs=(key, payload, threads)) as pool:
                yield from _ordered(lambda item: pool.submit(_run_with_shared, key, fn, item), items, 2 * self.workers,
                                    _result)
        finally:
            _SHARED.pop(key, None)


def _result(future):
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        raise SynthbankError("A worker process died (out of memory or killed); nothing was written.") from None


def _ordered(submit, items, window: int, wait) -> Iterator:
    """Submit items, at most ``window`` ahead of the oldest unfinished one, and yield results in order."""
    pending: deque = deque()
    for item in items:
        pending.append(submit(item))
        if len(pending) >= window:
            yield wait(pending.popleft())
    while pending:
        yield wait(pending.popleft())


# --- Ray -----------------------------------------------------------------------------------------------------
def import_ray():
    try:
        import ray
    except ImportError:
        raise SynthbankError(f"Ray is not installed: pip install 'synthbank[ray]' (or '{RAY_REQUIREMENT}').") from None
    from synthbank.quiet import hush_loggers

    hush_loggers()  # Ray sets its loggers up on import: quiet them again (a no-op with -v)
    return ray


class RayExecutor(Executor):
    """Tasks on a Ray cluster: ``address="auto"`` joins the cluster this machine belongs to (``ray start``,
    or ``RAY_ADDRESS``) or, where there is none, starts a local Ray with ``num_cpus`` CPUs (default: all);
    ``address="ray://host:10001"`` or ``"host:6379"`` joins that one. A task that fails is retried by Ray
    (``max_retries``); one that fails for good stops the run with one sentence, and nothing is written.
    """

    def __init__(self, address: str | None = "auto", *, num_cpus: int | None = None, max_retries: int = 3):
        self.address = address
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self.started = False
        self.name = f"Ray ({address or 'local'})"

    def __enter__(self):
        self.connect()
        return self

    def connect(self) -> None:
        ray = import_ray()
        if ray.is_initialized():
            _quiet_ray_data()
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
            return
        options = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": False,
                   "configure_logging": False}
        try:
            if self.address in (None, "local"):
                ray.init(num_cpus=self.num_cpus, **options)
            elif self.address == "auto":
                try:
                    ray.init(address="auto", **options)
                except ConnectionError:  # no cluster on this machine: a local one
                    ray.init(num_cpus=self.num_cpus, **options)
            else:
                _check_reachable(self.address)
                ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SynthbankError(f"Cannot connect to the Ray cluster at '{self.address}': {first}") from None
        _quiet_ray_data()
        self.started = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.name = f"Ray ({self.workers} CPUs)"

    def close(self) -> None:
        if self.started:
            import_ray().shutdown()
            self.started = False

    def map(self, fn, shared, items, *, uses_torch=False):
        ray = import_ray()
        if not ray.is_initialized():
            self.connect()
        shared_ref = ray.put(shared)  # once, into the object store; every task gets the reference
        task = ray.remote(max_retries=self.max_retries, retry_exceptions=False)(_ray_call)

        def wait(ref):
            try:
                return ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                if isinstance(cause, SynthbankError):
                    raise cause from None
                raise SynthbankError(f"A Ray task failed: {type(cause).__name__}: "
                                     f"{str(cause).strip().splitlines()[0] if str(cause).strip() else ''}") from None
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError) as exc:
                raise SynthbankError(f"A Ray worker was lost after {self.max_retries} retries ({type(exc).__name__}); "
                                     "nothing was written.") from None

        yield from _ordered(lambda item: task.remote(fn, shared_ref, item), items, 2 * self.workers, wait)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in one sentence when nothing listens at ``host:port`` (Ray itself would retry for minutes)."""
    import socket

    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise SynthbankError(f"The Ray address '{address}' is not HOST:PORT (or ray://HOST:PORT, or auto).")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise SynthbankError(f"Cannot connect to the Ray cluster at '{address}': {exc.strerror or exc}.") from None


def _quiet_ray_data() -> None:
    """Ray Data's progress bars and per-dataset log lines stay out of synthbank's own progress display."""
    import logging

    for name in ("ray", "ray.data", "ray._private", "ray.data._internal"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from ray.data import DataContext

        context = DataContext.get_current()
        context.enable_progress_bars = False
        if hasattr(context, "print_on_execution_start"):
            context.print_on_execution_start = False
    except ImportError:  # Ray without Ray Data: only the tables run on it
        pass


def _ray_call(fn, shared, item):
    return fn(shared, item)


def make_executor(workers: int | None = None, ray: str | None = None) -> Executor:
    """The executor the CLI options ask for: ``--workers N`` or ``--ray auto|ADDRESS`` (not both)."""
    if workers is not None and ray is not None:
        raise SynthbankError("Choose workers= or ray=, not both.")
    if ray is not None:
        return RayExecutor(address=ray)
    if workers is not None and workers > 1:
        return LocalProcesses(workers)
    return InProcess()


__all__ = ["Executor", "InProcess", "LocalProcesses", "RayExecutor", "make_executor", "RAY_REQUIREMENT"]
