"""Leave-one-subject-out random-forest classification of repetitions, scored per participant (§7).

Each fold holds out every repetition of one participant, fits a fresh
:class:`sklearn.ensemble.RandomForestClassifier` (``random_state = seed``) on all other
participants' repetitions and predicts the held-out repetitions; the participant's probability
of disease is the mean of its repetitions' class-1 probabilities. ROC/AUC are then computed over
participants (:mod:`neuroface.classification.roc`).
"""

from __future__ import annotations

import difflib
import logging
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from neuroface.classification.roc import binary_labels

__all__ = [
    "DEFAULT_RF_PARAMS",
    "OUTPUT_COLUMNS",
    "RUN_COLUMNS",
    "TABLE_COLUMNS",
    "classify",
    "check_forest_params",
    "classify_sources",
    "loso_folds",
    "loso_probabilities",
]

log = logging.getLogger(__name__)

#: The default forest (config ``classification.random_forest``; the paper does not state its
#: settings): scikit-learn's 100 trees, balanced class weights. ``random_state`` comes from the seed.
DEFAULT_RF_PARAMS: Mapping[str, Any] = {
    "n_estimators": 100,
    "min_samples_leaf": 1,
    "max_features": "sqrt",
    "class_weight": "balanced",
}
#: Identifying columns :func:`classify` needs besides the features.
TABLE_COLUMNS = ("participant_id", "group", "repetition")
#: Columns of :func:`loso_probabilities`' frame, one row per participant.
OUTPUT_COLUMNS = ("participant_id", "label", "probability", "n_repetitions")


def _participant_codes(participants) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique participant ids ``(P,)`` and each row's index into them ``(N,)``."""
    ids = np.asarray(participants)
    if ids.ndim != 1:
        raise ValueError(f"participants must be one-dimensional, got shape {ids.shape}")
    missing = pd.isna(ids)
    if missing.any():
        raise ValueError(f"participants has {int(missing.sum())} missing id(s), e.g. row {int(np.argmax(missing))}")
    try:
        unique, inverse = np.unique(ids, return_inverse=True)
    except TypeError as err:
        raise ValueError("participant ids must be of one comparable type (e.g. all strings)") from err
    return unique, inverse.reshape(-1)


def _folds(inverse: np.ndarray, n_participants: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for k in range(n_participants):
        held_out = inverse == k
        yield np.flatnonzero(~held_out), np.flatnonzero(held_out)


def loso_folds(participants) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-subject-out folds of rows labelled by ``participants (N,)``.

    Yields ``(train, test)`` integer row indices, one fold per participant in sorted id order;
    ``test`` holds all of that participant's rows, ``train`` all others. Needs >= 2 participants.
    """
    unique, inverse = _participant_codes(participants)
    if unique.size < 2:
        raise ValueError(f"leave-one-subject-out needs at least 2 participants, got {unique.size}")
    return _folds(inverse, unique.size)


def _feature_matrix(X) -> np.ndarray:
    """``X`` as a finite float64 ``(N, F)`` matrix; non-finite values raise, naming the columns."""
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        try:
            arr = X.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as err:
            bad = [str(c) for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
            raise ValueError(f"X has non-numeric column(s): {', '.join(bad) or '?'}") from err
    else:
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError("X must be numeric") from err
        names = [f"column {j}" for j in range(arr.shape[1])] if arr.ndim == 2 else []
    if arr.ndim != 2:
        raise ValueError(f"X must be two-dimensional (rows, features), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError("X has no feature columns")
    bad_columns = ~np.isfinite(arr).all(axis=0)
    if bad_columns.any():
        detail = ", ".join(
            f"{names[j]} ({int((~np.isfinite(arr[:, j])).sum())} rows)" for j in np.flatnonzero(bad_columns)
        )
        raise ValueError(f"X has NaN or infinite values in: {detail}")
    return arr


def check_forest_params(rf_params: Mapping[str, Any]) -> None:
    """Check forest settings against :class:`~sklearn.ensemble.RandomForestClassifier` without
    fitting: every key must be one of its parameters (a typo names the key and the closest
    parameter), ``random_state`` comes from the seed, and each value must pass scikit-learn's own
    parameter validation. Raises ValueError naming the key."""
    known = RandomForestClassifier().get_params()
    for key in rf_params:
        if key == "random_state":
            raise ValueError("random_state: set the seed with classification.seed")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{key!r} is not a parameter of scikit-learn's RandomForestClassifier{hint}")
    forest = RandomForestClassifier(**rf_params)
    validate = getattr(forest, "_validate_params", None)  # scikit-learn >= 1.2; else checked at fit
    if validate is not None:
        try:
            validate()
        except ValueError as err:  # InvalidParameterError names the parameter and the allowed values
            raise ValueError(str(err)) from None


def _forest_params(rf_params: Mapping[str, Any] | None) -> dict[str, Any]:
    params = dict(DEFAULT_RF_PARAMS if rf_params is None else rf_params)
    if "random_state" in params:
        raise ValueError("rf_params must not set random_state: the seed argument (config classification.seed) does")
    return params


def loso_probabilities(
    X,
    y,
    participants,
    rf_params: Mapping[str, Any] | None,
    seed: int,
    estimator_factory: Callable[[], Any] | None = None,
) -> pd.DataFrame:
    """Leave-one-subject-out probability of disease per participant.

    ``X (N, F)`` repetition features (DataFrame or array), ``y (N,)`` 0/1 labels (1 = disease),
    ``participants (N,)`` ids. Each fold fits ``RandomForestClassifier(**rf_params,
    random_state=seed)`` (or ``estimator_factory()``, an unfitted estimator with ``fit`` /
    ``predict_proba`` / ``classes_``, when given; ``rf_params`` and ``seed`` are then unused) on
    the other participants' rows. Returns one row per participant, sorted by id: participant_id,
    label (0/1), probability (mean class-1 probability of its rows, in [0, 1]), n_repetitions.

    Raises ValueError if X has NaN/inf (naming the columns), a participant's rows carry different
    labels, a class has fewer than 2 participants, lengths differ, or rf_params sets random_state.
    """
    features = _feature_matrix(X)
    labels = binary_labels(y, "y").astype(np.int64)
    unique, inverse = _participant_codes(participants)
    if not features.shape[0] == labels.size == inverse.size:
        raise ValueError(
            f"X, y and participants differ in length: {features.shape[0]}, {labels.size}, {inverse.size} rows"
        )
    params = _forest_params(rf_params)
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")

    n_rows = np.bincount(inverse, minlength=unique.size)
    n_positive = np.bincount(inverse, weights=labels, minlength=unique.size)
    mixed = (n_positive > 0) & (n_positive < n_rows)
    if mixed.any():
        raise ValueError(f"rows of participant(s) {unique[mixed][:10].tolist()} carry different labels")
    participant_label = (n_positive > 0).astype(np.int64)
    n_diseased = int(participant_label.sum())
    n_controls = unique.size - n_diseased
    if n_diseased < 2 or n_controls < 2:
        raise ValueError(
            f"leave-one-subject-out needs at least 2 participants per class; "
            f"got {n_diseased} diseased (1) and {n_controls} controls (0)"
        )

    factory = estimator_factory or partial(RandomForestClassifier, **params, random_state=int(seed))
    probability = np.empty(unique.size)
    for k, (train, test) in enumerate(_folds(inverse, unique.size)):
        estimator = factory()
        estimator.fit(features[train], labels[train])
        column = int(np.flatnonzero(np.asarray(estimator.classes_) == 1)[0])
        probability[k] = float(np.mean(estimator.predict_proba(features[test])[:, column]))

    return pd.DataFrame(
        {
            "participant_id": unique,
            "label": participant_label,
            "probability": probability,
            "n_repetitions": n_rows.astype(np.int64),
        },
        columns=list(OUTPUT_COLUMNS),
    )


def classify(
    table: pd.DataFrame,
    features: Sequence[str],
    disease: str,
    control: str = "HC",
    rf_params: Mapping[str, Any] | None = None,
    seed: int = 0,
    estimator_factory: Callable[[], Any] | None = None,
) -> pd.DataFrame:
    """Control vs ``disease`` LOSO classification from a repetition-level feature table.

    ``table`` has columns participant_id, group, repetition and the ``features``; rows of other
    groups are ignored, rows are ordered by (participant_id, repetition) before fitting, so the
    result does not depend on the table's row order. ``rf_params`` defaults to
    :data:`DEFAULT_RF_PARAMS`. Returns :func:`loso_probabilities`' frame (label 1 = disease) with
    a ``group`` column after participant_id.
    """
    features = list(features)
    if not features:
        raise ValueError("no feature columns given")
    duplicated = sorted({f for f in features if features.count(f) > 1})
    if duplicated:
        raise ValueError(f"feature column(s) listed twice: {', '.join(duplicated)}")
    reserved = sorted(set(features) & set(TABLE_COLUMNS))
    if reserved:
        raise ValueError(f"identifying column(s) cannot be features: {', '.join(reserved)}")
    missing = [c for c in (*TABLE_COLUMNS, *features) if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s): {', '.join(map(str, missing))}")
    if disease == control:
        raise ValueError(f"disease and control are the same group {disease!r}")

    rows = table.loc[table["group"].isin([control, disease]), [*TABLE_COLUMNS, *features]]
    for group in (control, disease):
        n = rows.loc[rows["group"] == group, "participant_id"].nunique()
        if n < 2:
            raise ValueError(f"group {group!r} has {n} participant(s) in the table; leave-one-subject-out needs 2")
    groups_per_participant = rows.groupby("participant_id")["group"].nunique()
    both = groups_per_participant.index[groups_per_participant > 1]
    if len(both):
        raise ValueError(f"participant(s) {list(both[:10])} have rows in both {control!r} and {disease!r}")
    rows = rows.sort_values(["participant_id", "repetition"], kind="stable")

    out = loso_probabilities(
        rows[features],
        (rows["group"] == disease).to_numpy(dtype=np.int64),
        rows["participant_id"].to_numpy(),
        rf_params if rf_params is not None else DEFAULT_RF_PARAMS,
        seed,
        estimator_factory,
    )
    group_of = rows.drop_duplicates("participant_id").set_index("participant_id")["group"]
    out.insert(1, "group", group_of.loc[out["participant_id"]].to_numpy())
    return out


#: Columns of :func:`classify_sources`' frame.
RUN_COLUMNS = ("comparison", "task", "source", "participant_id", "group", "label", "probability", "n_repetitions")


def classify_sources(
    tables: Mapping[str, pd.DataFrame],
    features: Sequence[str],
    disease: str,
    comparison: str,
    task: str,
    control: str = "HC",
    rf_params: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One run and task (the ``classify`` rule): :func:`classify` for each landmark source's table.

    A source with fewer than two participants in either group gets no rows (and a warning): a
    leave-one-subject-out forest needs both classes in every training fold. Returns
    :data:`RUN_COLUMNS`, sources in the order given.
    """
    parts = []
    for source, table in tables.items():
        counts = table.groupby("group")["participant_id"].nunique()
        if min(counts.get(control, 0), counts.get(disease, 0)) < 2:
            log.warning(
                "%s: too few participants with classified repetitions (%s): no AUC for this source",
                source,
                counts.to_dict(),
            )
            continue
        probabilities = classify(table, features, disease, control, rf_params=rf_params, seed=seed)
        log.info(
            "%s: %d participants (%s) from %d repetitions",
            source,
            len(probabilities),
            probabilities["group"].value_counts().to_dict(),
            int(probabilities["n_repetitions"].sum()),
        )
        parts.append(probabilities.assign(source=source))
    empty = pd.DataFrame(columns=[c for c in RUN_COLUMNS if c not in ("comparison", "task")])
    out = pd.concat(parts or [empty], ignore_index=True).assign(comparison=comparison, task=task)
    return out[["comparison", "task", "source", *[c for c in out.columns if c not in ("comparison", "task", "source")]]]
