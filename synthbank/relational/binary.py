"""Binary columns (``BLOB``, ``BYTEA``, ``VARBINARY``: scans, signatures, attachments) in a clone.

Their content is never learned: a scanned identity card is personal data no model should hold. Each
synthetic row gets **random bytes** whose length follows the real lengths (the quantile function of the
lengths, through knots that each average at least ``k`` rows — no single file's length is stored), and
NULL in the real share of rows. So a clone has blobs of realistic sizes for load tests and storage
estimates, and nothing of the originals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from synthbank.relational.marginals import knots


@dataclass
class BinaryShape:
    null_share: float = 0.0
    levels: list[float] = field(default_factory=list)
    lengths: list[float] = field(default_factory=list)

    @classmethod
    def learn(cls, values: pd.Series, k: int) -> BinaryShape:
        present = values.dropna()
        sizes = np.array([len(v) for v in present if isinstance(v, (bytes, bytearray, memoryview, str))], dtype=float)
        shape = cls(null_share=float(values.isna().mean()) if len(values) else 0.0)
        if len(sizes) >= k:
            levels, points = knots(sizes, group_rows=k)
            # the ends are the smallest and largest real length: the next knots inwards instead
            points[0], points[-1] = points[1], points[-2]
            shape.levels, shape.lengths = levels.tolist(), points.tolist()
        return shape

    def sample(self, n: int, rng: np.random.Generator, nullable: bool) -> np.ndarray:
        out = np.empty(n, dtype=object)
        sizes = (np.interp(rng.random(n), self.levels, self.lengths).round().astype(int) if self.lengths
                 else np.zeros(n, dtype=int))
        out[:] = [rng.bytes(int(size)) for size in sizes]
        if nullable and self.null_share > 0:
            out[rng.random(n) < self.null_share] = None
        return out

    def to_dict(self) -> dict:
        return asdict(self)
