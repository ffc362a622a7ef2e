"""New values for the rows whose category was rare: words many people use, in combinations nobody wrote.

Rare-value protection (:mod:`synthbank.protection`) keeps a value out of every model unless ``k`` entities hold
it. In a column of free-form labels (job titles, merchant names) most rows hold a value few people share: on
LendingClub 56% of the loans have an employment title fewer than 5 borrowers give. Writing the common titles
in their place made "manager" two and a half times as frequent as in the real data, and the synthetic rows
easy to tell from the real ones (a classifier's first clue). Here those rows get *new* labels instead:

* the words come from the column's own values, each word used by at least ``k`` entities (at the start of a
  value, or after its first word);
* a label's number of words follows the rare values' (counted, a statistic);
* a candidate equal to a real value of the column, or holding a run of two or more words that is one, is
  thrown away (checked on the real values in memory while fitting; only the kept candidates are stored), so
  the evaluation's leak scan, which searches every rare value inside every string, finds none.

Only for columns of words (most values alphabetic) where rare values are at least :data:`MIN_RARE_SHARE` of the
rows and at least :data:`MIN_WORDS` words are common enough.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Rare values must be at least this share of a column's present rows for new labels to be made.
MIN_RARE_SHARE = 0.1
#: Common words (held by ≥ k entities) a column needs.
MIN_WORDS = 20
#: New labels made per column (at most; and at most twice the rare rows).
POOL = 2000
#: The longest label made, in words.
MAX_WORDS = 4
#: Words a label neither starts nor ends with.
JOINERS = frozenset({"and", "or", "of", "the", "for", "to", "in", "at", "on", "a", "an", "with", "de", "la", "y", "und"})
_WORD = re.compile(r"[^\W\d_]+")


def _words(value) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", str(value).lower()))


def make_pool(values: pd.Series, rare: np.ndarray, entities: np.ndarray | None, k: int, seed: int) -> list[str]:
    """New labels for a column (``rare``: per row, whether its value was rare), or [] where none fit."""
    from synthbank import seeding

    present = values.notna().to_numpy()
    text = values[present].astype(str)
    if not len(text) or not all(isinstance(v, str) for v in values[present].head(100)):
        return []
    if rare[present].mean() < MIN_RARE_SHARE or text.str.fullmatch(r"[^\W\d_]+([\s\-/&.,']+[^\W\d_]+)*\s*").mean() < 0.5:
        return []
    owners = np.asarray(entities)[present] if entities is not None else np.arange(len(text))
    tokens = [_WORD.findall(v) for v in text]
    first, later, surface = _common(tokens, owners, k)
    if len(first) + len(later) < MIN_WORDS or not first:
        return []
    lengths = np.bincount([min(len(t), MAX_WORDS) for t, r in zip(tokens, rare[present]) if r and t], minlength=MAX_WORDS + 1)
    lengths[0] = 0
    if lengths.sum() == 0:
        return []
    real = {_words(v) for v in text.unique()}
    runs = {w for w in real if len(w) >= 2}
    rng = seeding.rng(seed, "novel values")
    pool: dict[str, None] = {}
    later = later or first
    f_words, f_p = list(first), np.array(list(first.values()), float) / sum(first.values())
    l_words, l_p = list(later), np.array(list(later.values()), float) / sum(later.values())
    n_p = lengths / lengths.sum()
    lower_case = text.str.islower().mean() >= 0.5
    for _ in range(POOL * 5):
        if len(pool) >= min(POOL, 2 * int(rare[present].sum())):
            break
        n = int(rng.choice(len(lengths), p=n_p))
        key = (f_words[rng.choice(len(f_words), p=f_p)], *(l_words[rng.choice(len(l_words), p=l_p)] for _ in range(n - 1)))
        if len(set(key)) < len(key) or key[-1] in JOINERS or key[0] in JOINERS:
            continue  # "plumber and" is no title (the words are lower case, as the real values' keys)
        if key in real or any(key[i:j] in runs for i in range(len(key)) for j in range(i + 2, len(key) + 1)):
            continue
        label = " ".join(surface[w] for w in key)
        pool[label.lower() if lower_case else label] = None
    return list(pool)


def _common(tokens: list[list[str]], owners: np.ndarray, k: int) -> tuple[dict, dict, dict]:
    """Words at the start of a value and after it, each with the number of entities using it there (≥ k), and
    each word's most frequent spelling."""
    rows = [(w.lower(), w, i == 0, owner) for t, owner in zip(tokens, owners) for i, w in enumerate(t)]
    if not rows:
        return {}, {}, {}
    frame = pd.DataFrame(rows, columns=["word", "spelling", "first", "owner"])
    held = frame.groupby(["word", "first"])["owner"].nunique()
    held = held[held >= k]
    first = {w: int(n) for (w, f), n in held.items() if f}
    later = {w: int(n) for (w, f), n in held.items() if not f}
    surface = frame.groupby("word")["spelling"].agg(lambda s: s.value_counts().index[0]).to_dict()
    return first, later, surface
