"""The signal ladder: where the disease signal of the synthetic cohort goes, rung by rung.

Rungs (landmark sources of the same repetitions):

======  ==============  ====================================================================
rung    source          what it adds to the rung above
======  ==============  ====================================================================
R0      ``true3d_50fps`` true 3D from the motion model at the study's 50 fps (no recording)
R1      ``true3d``       sampling at the recording's frame rate, observer-jittered segments
R2      ``true2d``       the models' path on the true 2D: median filter, depth lookup,
                         deprojection (the fair ceiling of Table II)
R3      ``finetuned``    the fine-tuned FAN's landmark errors
R3cf    ``finetuned_cf`` the cross-fitted FAN's (with ``fan.crossfit.folds`` > 0): no
                         participant tracked by a model that saw its face
R4      ``pretrained``   the pre-trained FAN's landmark errors
======  ==============  ====================================================================

Per run and task: the LOSO AUC with its DeLong CI at each rung (:func:`rung_aucs`), each
feature's correlation with its R1 value over repetitions (:func:`feature_correlations`), and
per rung the landmark error split into per-recording bias and frame-to-frame jitter
(:func:`error_summary`, from :func:`neuroface.features.rungs.error_split`). An identity-only
classifier (:func:`identity_aucs`: which base photograph, skin tone, lighting, camera distance,
face size; nothing that moves) checks that the cohort carries no identity confound: its AUC
should be near 0.5 with a CI containing it. Per rung, the best single feature over participants
and its family-wise permutation p-value (:mod:`~neuroface.classification.univariate`) say whether
one feature carries the signal the forest does or does not find; and below every rung,
:func:`design_aucs` says how far the cohort's own disease knobs separate the groups, before
anything is rendered, sampled or measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from neuroface.classification import roc
from neuroface.classification.forest import classify
from neuroface.plotting import plt
from neuroface.synthetic.cohort import CohortPlan
from neuroface.synthetic.generate import participant
from neuroface.synthetic.motion import DiseaseModel

__all__ = [
    "DESIGN_COLUMNS",
    "RUNGS",
    "design_aucs",
    "error_summary",
    "feature_correlations",
    "identity_aucs",
    "ladder_figure",
    "ladder_markdown",
    "present_rungs",
    "rung_aucs",
]

#: rung -> landmark source, bottom (most signal) to top.
RUNGS = {
    "R0": "true3d_50fps",
    "R1": "true3d",
    "R2": "true2d",
    "R3": "finetuned",
    "R3cf": "finetuned_cf",
    "R4": "pretrained",
}


def present_rungs(table: pd.DataFrame) -> list[str]:
    """The rungs of :data:`RUNGS` that ``table`` (a ``rung`` column) has, in ladder order: R3cf only
    with cross-fitting."""
    have = set(table["rung"])
    return [r for r in RUNGS if r in have]


def _auc_row(labels: np.ndarray, scores: np.ndarray, level: float) -> dict[str, float]:
    labels = np.asarray(labels, int)
    row = {"n_control": int((labels == 0).sum()), "n_disease": int((labels == 1).sum())}
    value, low, high = roc.auc_with_ci(labels, scores, level)
    return {**row, "auc": value, "ci_low": low, "ci_high": high}


def rung_aucs(probabilities: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """AUC [CI] per comparison, task and rung from per-participant probabilities (columns
    comparison, task, source, label, probability; sources named as in :data:`RUNGS`)."""
    rungs = {source: rung for rung, source in RUNGS.items()}
    rows = []
    for (comparison, task, source), t in probabilities.groupby(["comparison", "task", "source"], sort=False):
        if source in rungs:
            rows.append(
                {
                    "comparison": comparison,
                    "task": task,
                    "rung": rungs[source],
                    "source": source,
                    **_auc_row(t["label"], t["probability"], level),
                }
            )
    return pd.DataFrame(rows).sort_values(["comparison", "task", "rung"], kind="stable", ignore_index=True)


def feature_correlations(
    tables: Mapping[str, pd.DataFrame], features: Sequence[str], comparison: str, task: str, reference: str = "R1"
) -> pd.DataFrame:
    """Pearson r of each feature with its ``reference``-rung value over the repetitions both rungs
    measured (matched by recording and repetition number). ``tables``: rung -> feature table."""
    ref = tables[reference].set_index(["recording_id", "repetition"])
    rows = []
    for rung, table in tables.items():
        t = table.set_index(["recording_id", "repetition"])
        common = t.index.intersection(ref.index)
        for name in features:
            a, b = t.loc[common, name].to_numpy(float), ref.loc[common, name].to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b)
            r = np.corrcoef(a[ok], b[ok])[0, 1] if ok.sum() > 2 and a[ok].std() > 0 and b[ok].std() > 0 else np.nan
            rows.append(
                {"comparison": comparison, "task": task, "rung": rung, "feature": name, "n": int(ok.sum()), "r": r}
            )
    return pd.DataFrame(rows)


def error_summary(errors: pd.DataFrame) -> pd.DataFrame:
    """Median over recordings of the per-recording bias and jitter, per rung, group and space, and how many
    recordings they are over (a recording without one finite frame has NaN error and is not counted).

    ``errors``: rows (rung, recording_id, group, space ('2d px' or '3d mm'), bias, jitter)."""
    groups = errors.groupby(["rung", "space", "group"], sort=True)
    return groups[["bias", "jitter"]].median().reset_index().assign(n_recordings=groups["bias"].count().to_numpy())


def identity_aucs(
    identity: pd.DataFrame,
    runs: Mapping[str, Sequence[str]],
    participants_by_run: Mapping[str, Sequence[str]],
    rf_params: Mapping[str, Any] | None = None,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """LOSO AUC [CI] of a random forest that sees only a participant's static identity.

    ``identity``: one row per participant (participant_id, group, then numeric columns: one-hot
    base face, appearance and camera parameters). ``runs``: comparison -> (disease group, ...);
    ``participants_by_run``: the participants classified in each run. A confound-free cohort
    gives AUCs whose CI contains 0.5.
    """
    columns = [c for c in identity.columns if c not in ("participant_id", "group")]
    rows = []
    for comparison, (disease, *_rest) in runs.items():
        sub = identity[identity["participant_id"].isin(participants_by_run[comparison])].assign(repetition=1)
        p = classify(sub, columns, disease, rf_params=rf_params, seed=seed)
        row = _auc_row(p["label"], p["probability"], level)
        rows.append({"comparison": comparison, **row, "ci_contains_half": bool(row["ci_low"] <= 0.5 <= row["ci_high"])})
    return pd.DataFrame(rows)


#: Columns of :func:`design_aucs`' frame.
DESIGN_COLUMNS = ("comparison", "task", "gain", "n_control", "n_disease", "auc", "auc_population")


def design_aucs(
    plan: CohortPlan,
    runs: Mapping[str, Sequence[str]],
    participants: Mapping[tuple[str, str], Sequence[str]],
    draws: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """How far the synthetic cohort's disease knobs themselves separate HC from each run's disease group.

    Per run (``runs``: comparison -> (disease group, ...)) and task, the AUC of each of
    :meth:`~neuroface.synthetic.motion.DiseaseParams.movement_gains` over the participants that
    run and task classify (``participants[(comparison, task)]``; their parameters from
    :func:`~neuroface.synthetic.generate.participant`), and in the population: ``draws`` seeded
    participants per group from the plan's :class:`~neuroface.synthetic.motion.DiseaseModel`.
    Columns :data:`DESIGN_COLUMNS`, one row per run, task and gain; disease is the positive class.
    """
    model = DiseaseModel(**plan.disease)
    groups = plan.participants.set_index("participant_id")["group"]
    gains: dict[str, dict[str, float]] = {}
    rows = []
    for comparison, (disease, *_rest) in runs.items():
        rng = np.random.default_rng(seed)
        drawn = {
            g: pd.DataFrame([model.sample(g, rng).movement_gains() for _ in range(draws)]) for g in ("HC", disease)
        }
        labels_population = np.r_[np.zeros(draws), np.ones(draws)]
        population = {
            gain: roc.auc(labels_population, np.r_[drawn["HC"][gain], drawn[disease][gain]]) for gain in drawn["HC"]
        }
        for (run, task), ids in participants.items():
            if run != comparison:
                continue
            for pid in ids:
                if pid not in gains:
                    gains[pid] = participant(plan, str(pid), render=False).disease.movement_gains()
            table = pd.DataFrame([gains[pid] for pid in ids], index=list(ids))
            labels = (groups.loc[list(ids)] == disease).to_numpy(dtype=np.int64)
            for gain in table.columns:
                rows.append(
                    {
                        "comparison": comparison,
                        "task": task,
                        "gain": gain,
                        "n_control": int((labels == 0).sum()),
                        "n_disease": int(labels.sum()),
                        "auc": roc.auc(labels, table[gain].to_numpy()),
                        "auc_population": population[gain],
                    }
                )
    return pd.DataFrame(rows, columns=list(DESIGN_COLUMNS))


def _p_text(p: float) -> str:
    """A permutation p-value for the table: three decimals, ``< 0.001`` below (its floor is 1 / (1 + permutations))."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def ladder_markdown(
    aucs: pd.DataFrame,
    errors: pd.DataFrame,
    identity: pd.DataFrame,
    level: float = 0.95,
    best: pd.DataFrame | None = None,
    design: pd.DataFrame | None = None,
) -> str:
    """The ladder as Markdown: AUC [CI] per run, task and rung; landmark errors per rung; the
    identity-only check; and, when given, the best single feature per rung (``best``:
    :func:`~neuroface.classification.univariate.best_features`' rows) and the design's own
    separation (``design``: :func:`design_aucs`' rows)."""
    rungs = present_rungs(aucs)
    lines = [
        f"AUC [{level:.0%} DeLong CI] per rung\n",
        "| run | task | " + " | ".join(f"{r} {RUNGS[r]}" for r in rungs) + " |",
        "|---|---|" + "---|" * len(rungs),
    ]
    for (comparison, task), t in aucs.groupby(["comparison", "task"], sort=False):
        cells = []
        for r in rungs:
            row = t[t["rung"] == r]
            cells.append(
                "n/a"
                if row.empty or np.isnan(row["auc"].iloc[0])
                else f"{row['auc'].iloc[0]:.2f} [{row['ci_low'].iloc[0]:.2f}, {row['ci_high'].iloc[0]:.2f}]"
            )
        lines.append(f"| {comparison.replace('_', ' ')} | {task} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Landmark error per rung (median over recordings; bias = per-recording mean error, "
        "jitter = RMS frame-to-frame remainder)\n",
        "| rung | space | group | bias | jitter | recordings |",
        "|---|---|---|---|---|---|",
    ]
    for r in errors.itertuples():
        lines.append(f"| {r.rung} | {r.space} | {r.group} | {r.bias:.2f} | {r.jitter:.2f} | {r.n_recordings} |")
    lines += [
        "",
        "Identity-only classifier (base face, appearance, camera distance, face size)\n",
        f"| run | n (control/disease) | AUC [{level:.0%} CI] | CI contains 0.5 |",
        "|---|---|---|---|",
    ]
    for r in identity.itertuples():
        lines.append(
            f"| {r.comparison.replace('_', ' ')} | {r.n_control}/{r.n_disease} | "
            f"{r.auc:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}] | {'yes' if r.ci_contains_half else 'NO'} |"
        )
    if best is not None:
        rung_of = {source: rung for rung, source in RUNGS.items()}
        lines += [
            "",
            "Best single feature per rung (AUC over participants, each a mean over its repetitions; below 0.5: "
            "lower in the disease group; p: max-statistic permutation test over the run's features)\n",
            "| run | task | rung | best feature | AUC | family-wise p | without signal, 95 % of the best within |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in best.itertuples():
            cells = (
                "n/a | n/a | n/a | n/a"
                if np.isnan(r.best_auc)
                else f"{r.best_feature} | {r.best_auc:.2f} | {_p_text(r.p_family)} | 0.5 ± {r.null_95:.2f}"
            )
            lines.append(
                f"| {r.comparison.replace('_', ' ')} | {r.task} | {rung_of.get(r.source, r.source)} | {cells} |"
            )
    if design is not None:
        lines += [
            "",
            "The design's own separation: AUC of each disease knob, as the movements carry it, over the participants "
            "each task classifies (in the population)\n",
            "| run | task | n (control/disease) | " + " | ".join(design["gain"].unique()) + " |",
            "|---|---|---|" + "---|" * design["gain"].nunique(),
        ]
        for (comparison, task), t in design.groupby(["comparison", "task"], sort=False):
            cells = " | ".join(f"{r.auc:.2f} ({r.auc_population:.2f})" for r in t.itertuples())
            n = f"{t['n_control'].iloc[0]}/{t['n_disease'].iloc[0]}"
            lines.append(f"| {comparison.replace('_', ' ')} | {task} | {n} | {cells} |")
    return "\n".join(lines) + "\n"


def ladder_figure(aucs: pd.DataFrame, errors: pd.DataFrame) -> plt.Figure:
    """Left: AUC with CI per rung, one line per run and task. Right: 3D landmark bias and jitter
    per rung, the median of ``errors``' rows (per group, as :func:`error_summary` gives them); the
    rungs without rows (R0, R1: the true 3D itself) are labelled as such."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.0, 2.8), constrained_layout=True)
    rungs = present_rungs(aucs)
    x = np.arange(len(rungs))
    keys = list(aucs.groupby(["comparison", "task"], sort=False).groups)
    for k, (comparison, task) in enumerate(keys):
        t = aucs[(aucs["comparison"] == comparison) & (aucs["task"] == task)].set_index("rung").reindex(rungs)
        dx = (k - (len(keys) - 1) / 2) * 0.06
        ls = "-" if k < len(keys) / 2 else "--"
        ax.errorbar(
            x + dx,
            t["auc"],
            yerr=[t["auc"] - t["ci_low"], t["ci_high"] - t["auc"]],
            lw=1.0,
            ls=ls,
            marker="o",
            ms=2.5,
            capsize=1.5,
            label=f"{comparison.replace('_', ' ')} {task}",
        )
    ax.axhline(0.5, color="0.6", lw=0.6, ls=":")
    ax.set_xticks(x, [f"{r}\n{RUNGS[r]}" for r in rungs], fontsize=6)
    ax.set_ylabel("AUC (LOSO) with CI")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=5, ncol=2, loc="lower left")
    ax.set_title("A) signal per rung", loc="left")
    e = errors[errors["space"] == "3d mm"].groupby("rung")[["bias", "jitter"]].median().reindex(rungs)
    ax2.bar(x - 0.18, e["bias"], 0.36, label="bias (per recording)")
    ax2.bar(x + 0.18, e["jitter"], 0.36, label="jitter (frame to frame)")
    for i in np.flatnonzero(e[["bias", "jitter"]].isna().all(axis=1).to_numpy()):
        ax2.text(x[i], 0, "true 3D\n(no error)", ha="center", va="bottom", fontsize=5, color="0.4")
    top = np.nanmax(e[["bias", "jitter"]].to_numpy()) if e[["bias", "jitter"]].notna().any().any() else 1.0
    ax2.set_ylim(0, 1.35 * top)  # headroom: the legend sits above the bars
    ax2.set_xticks(x, rungs)
    ax2.set_ylabel("3D landmark error (mm)")
    ax2.legend(fontsize=6, loc="upper left")
    ax2.set_title("B) landmark error per rung", loc="left")
    return fig
