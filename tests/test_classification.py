"""Leave-one-subject-out random-forest classification (neuroface.classification.forest).

References: a spying estimator that records what each fold fits and predicts; a per-fold
scikit-learn computation written out here; perfectly separable data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from neuroface.classification import roc
from neuroface.classification.forest import DEFAULT_RF_PARAMS, classify, loso_folds, loso_probabilities

RF = {"n_estimators": 10, "min_samples_leaf": 1, "max_features": "sqrt", "class_weight": "balanced"}
FEATURES = ["feat_a", "feat_b", "feat_c", "feat_d"]


def cohort(seed=0, n_per_group=(6, 5, 5), shift=0.8, groups=("HC", "PS", "ALS")):
    """Repetition table: participant_id, group, repetition, FEATURES; 2-5 repetitions each, shuffled rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, (group, n) in enumerate(zip(groups, n_per_group, strict=True)):
        for p in range(n):
            pid = f"{group}{p:02d}"
            center = rng.normal(size=len(FEATURES)) * 0.5 + shift * g
            for rep in range(1, int(rng.integers(2, 6)) + 1):
                rows.append([pid, group, rep, *(center + rng.normal(size=len(FEATURES)))])
    table = pd.DataFrame(rows, columns=["participant_id", "group", "repetition", *FEATURES])
    return table.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def arrays(table, disease="ALS"):
    sub = table[table["group"].isin(["HC", disease])]
    return (
        sub[FEATURES].to_numpy(),
        (sub["group"] == disease).to_numpy(int),
        sub["participant_id"].to_numpy(),
    )


class Spy:
    """Estimator wrapper recording the rows of every fit and predict_proba call."""

    log: list[dict] = []

    def __init__(self, seed=0):
        self.inner = RandomForestClassifier(**RF, random_state=seed)

    def fit(self, X, y):
        Spy.log.append({"fit": np.array(X, copy=True)})
        self.inner.fit(X, y)
        self.classes_ = self.inner.classes_
        return self

    def predict_proba(self, X):
        Spy.log[-1]["predict"] = np.array(X, copy=True)
        return self.inner.predict_proba(X)


# --- folds ------------------------------------------------------------------------------------


def test_loso_folds_hold_out_each_participant_once():
    participants = np.array(["b", "a", "c", "a", "b", "b", "c"])
    folds = list(loso_folds(participants))
    assert len(folds) == 3
    for (train, test), pid in zip(folds, ["a", "b", "c"], strict=True):  # sorted id order
        np.testing.assert_array_equal(test, np.flatnonzero(participants == pid))
        np.testing.assert_array_equal(train, np.flatnonzero(participants != pid))
        assert train.dtype.kind == "i" and test.dtype.kind == "i"
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(participants.size))


def test_loso_folds_rejects_single_participant_and_missing_ids():
    with pytest.raises(ValueError, match="at least 2 participants"):
        loso_folds(["a", "a", "a"])
    with pytest.raises(ValueError, match="missing"):
        loso_folds(np.array(["a", None, "b"], dtype=object))


# --- LOSO probabilities -------------------------------------------------------------------------


def test_spy_no_leakage_and_each_participant_held_out_once():
    table = cohort(1)
    X, y, participants = arrays(table)
    owner = {tuple(row): pid for row, pid in zip(X, participants, strict=True)}
    assert len(owner) == len(X)  # rows are distinguishable
    Spy.log = []
    out = loso_probabilities(X, y, participants, RF, seed=0, estimator_factory=Spy)
    unique = sorted(set(participants))
    assert len(Spy.log) == len(unique)
    held_out = []
    for call in Spy.log:
        predicted = {owner[tuple(r)] for r in call["predict"]}
        assert len(predicted) == 1
        (pid,) = predicted
        held_out.append(pid)
        assert len(call["predict"]) == int((participants == pid).sum())  # all its rows are tested
        trained = [owner[tuple(r)] for r in call["fit"]]
        assert pid not in trained  # no leakage
        assert len(trained) == len(X) - len(call["predict"])  # every other row is trained on
    assert sorted(held_out) == unique and len(set(held_out)) == len(unique)
    assert out["participant_id"].tolist() == unique


def test_probabilities_equal_manual_per_fold_sklearn():
    table = cohort(2)
    X, y, participants = arrays(table, "PS")
    seed = 7
    out = loso_probabilities(X, y, participants, RF, seed)
    expected = {}
    for pid in np.unique(participants):
        test = participants == pid
        clf = RandomForestClassifier(**RF, random_state=seed).fit(X[~test], y[~test])
        expected[pid] = clf.predict_proba(X[test])[:, list(clf.classes_).index(1)].mean()
        assert out.loc[out["participant_id"] == pid, "n_repetitions"].item() == test.sum()
        assert out.loc[out["participant_id"] == pid, "label"].item() == y[test][0]
    np.testing.assert_allclose(out["probability"], [expected[p] for p in out["participant_id"]], rtol=1e-12)
    assert list(out.columns) == ["participant_id", "label", "probability", "n_repetitions"]
    assert out["participant_id"].is_monotonic_increasing
    assert out["probability"].between(0, 1).all()
    assert out["n_repetitions"].sum() == len(X)


def test_accepts_dataframe_or_arrays():
    table = cohort(3)
    sub = table[table["group"].isin(["HC", "ALS"])]
    y = (sub["group"] == "ALS").to_numpy(int)
    from_frame = loso_probabilities(sub[FEATURES], y, sub["participant_id"], RF, 0)
    from_array = loso_probabilities(sub[FEATURES].to_numpy(), y, sub["participant_id"].to_numpy(), RF, 0)
    pd.testing.assert_frame_equal(from_frame, from_array)


def test_separable_data_gives_auc_one():
    table = cohort(4, shift=25.0)
    X, y, participants = arrays(table)
    out = loso_probabilities(X, y, participants, RF, seed=0)
    assert roc.auc(out["label"], out["probability"]) == 1.0
    assert out.loc[out["label"] == 1, "probability"].min() > out.loc[out["label"] == 0, "probability"].max()


def test_deterministic_for_a_seed():
    X, y, participants = arrays(cohort(5, shift=0.3))
    first = loso_probabilities(X, y, participants, RF, seed=3)
    again = loso_probabilities(X, y, participants, RF, seed=3)
    pd.testing.assert_frame_equal(first, again)
    other = loso_probabilities(X, y, participants, RF, seed=4)
    assert not np.array_equal(first["probability"], other["probability"])
    pd.testing.assert_frame_equal(first.drop(columns="probability"), other.drop(columns="probability"))


# --- errors -------------------------------------------------------------------------------------


def test_class_with_one_participant_raises():
    X, y, participants = arrays(cohort(6, n_per_group=(4, 1, 1)))
    with pytest.raises(ValueError, match="at least 2 participants per class.*1 diseased"):
        loso_probabilities(X, y, participants, RF, 0)


def test_mixed_labels_within_participant_raise():
    X, y, participants = arrays(cohort(7))
    y = y.copy()
    first = np.flatnonzero(participants == "ALS00")[0]
    y[first] = 0
    with pytest.raises(ValueError, match="ALS00.*different labels"):
        loso_probabilities(X, y, participants, RF, 0)


def test_nan_in_dataframe_names_the_column():
    table = cohort(8)
    sub = table[table["group"].isin(["HC", "ALS"])].copy()
    sub.loc[sub.index[3], "feat_c"] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*feat_c \(1 rows\)"):
        loso_probabilities(sub[FEATURES], (sub["group"] == "ALS").astype(int), sub["participant_id"], RF, 0)
    X, y, participants = arrays(cohort(8))
    X = X.copy()
    X[0, 1] = np.inf
    with pytest.raises(ValueError, match="column 1"):
        loso_probabilities(X, y, participants, RF, 0)


def test_random_state_in_rf_params_raises():
    X, y, participants = arrays(cohort(9))
    with pytest.raises(ValueError, match="random_state"):
        loso_probabilities(X, y, participants, {**RF, "random_state": 1}, 0)


@pytest.mark.parametrize("what", ["y_length", "participants_length", "labels", "seed"])
def test_other_bad_inputs_raise(what):
    X, y, participants = arrays(cohort(10))
    seed = 0
    if what == "y_length":
        y = y[:-1]
    elif what == "participants_length":
        participants = participants[1:]
    elif what == "labels":
        y = y * 2
    else:
        seed = None
    with pytest.raises(ValueError):
        loso_probabilities(X, y, participants, RF, seed)


# --- classify -----------------------------------------------------------------------------------


def test_classify_selects_groups_and_matches_loso():
    table = cohort(11)
    out = classify(table, FEATURES, "ALS", rf_params=RF, seed=2)
    assert list(out.columns) == ["participant_id", "group", "label", "probability", "n_repetitions"]
    assert set(out["group"]) == {"HC", "ALS"}
    assert (out["label"] == (out["group"] == "ALS")).all()
    assert out["participant_id"].str[:-2].eq(out["group"]).all()
    rows = table[table["group"].isin(["HC", "ALS"])].sort_values(["participant_id", "repetition"])
    expected = loso_probabilities(
        rows[FEATURES], (rows["group"] == "ALS").to_numpy(int), rows["participant_id"], RF, seed=2
    )
    pd.testing.assert_frame_equal(out.drop(columns="group"), expected)
    ps = classify(table, FEATURES, "PS", rf_params=RF, seed=2)
    assert set(ps["group"]) == {"HC", "PS"}


def test_classify_is_independent_of_row_order():
    table = cohort(12)
    shuffled = table.sample(frac=1.0, random_state=99).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        classify(table, FEATURES, "PS", rf_params=RF, seed=1),
        classify(shuffled, FEATURES, "PS", rf_params=RF, seed=1),
    )


def test_classify_defaults_to_paper_forest(monkeypatch):
    seen = {}

    def factory():
        return RandomForestClassifier(n_estimators=5, random_state=0)

    import neuroface.classification.forest as clf

    original = clf.loso_probabilities

    def spy(X, y, participants, rf_params, seed, estimator_factory=None):
        seen["rf_params"], seen["seed"] = dict(rf_params), seed
        return original(X, y, participants, rf_params, seed, factory)

    monkeypatch.setattr(clf, "loso_probabilities", spy)
    clf.classify(cohort(13), FEATURES, "ALS")
    assert seen == {"rf_params": dict(DEFAULT_RF_PARAMS), "seed": 0}


def test_classify_errors():
    table = cohort(14)
    with pytest.raises(ValueError, match="lacks column.*repetition"):
        classify(table.drop(columns="repetition"), FEATURES, "ALS", rf_params=RF)
    with pytest.raises(ValueError, match="lacks column.*nope"):
        classify(table, [*FEATURES, "nope"], "ALS", rf_params=RF)
    with pytest.raises(ValueError, match="'XX' has 0 participant"):
        classify(table, FEATURES, "XX", rf_params=RF)
    with pytest.raises(ValueError, match="same group"):
        classify(table, FEATURES, "HC", rf_params=RF)
    with pytest.raises(ValueError, match="no feature"):
        classify(table, [], "ALS", rf_params=RF)
    moved = table.copy()
    moved.loc[moved.index[moved["participant_id"] == "HC00"][0], "group"] = "ALS"
    with pytest.raises(ValueError, match="HC00.*both"):
        classify(moved, FEATURES, "ALS", rf_params=RF)
    with pytest.raises(ValueError, match="random_state"):
        classify(table, FEATURES, "ALS", rf_params={**RF, "random_state": 0})
