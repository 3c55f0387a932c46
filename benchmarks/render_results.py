"""Render docs/results.md from the committed result files.

    python -m benchmarks.render_results

Reads benchmarks/results/reference.json, benchmarks/results/recipes/*.json and
benchmarks/results/quality.json; every figure on the page comes from them.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path("benchmarks/results")
PAGE = Path("docs/results.md")
# Validation accuracy published by the reference study (unpacked, right-padded
# batches, 18,021 validation names from a slightly different census export).
REFERENCE_STUDY = {"rnn": 0.9312, "lstm": 0.9479, "bilstm": 0.9589, "bigru": 0.9607}


def pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f}%"


def pr(metrics: dict, label: str) -> str:
    row = metrics["report"][label]
    return f"{row['precision']:.3f} / {row['recall']:.3f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
    ]


def reference_section(record: dict) -> list[str]:
    rows = []
    for arch, m in record["models"].items():
        rows.append(
            [
                arch,
                f"{m['parameters']:,}",
                pct(m["accuracy"]),
                pct(REFERENCE_STUDY.get(arch)),
                pct(m["weighted_accuracy"]),
                pr(m, "F"),
                pr(m, "M"),
                str(m["confusion_matrix"]),
                f"{m['train_seconds'] / 60:.1f} min (best epoch {m['best_epoch']})",
            ]
        )
    for b in record["baselines"]:
        fit = f"{b['fit_seconds']:.1f} s fit" if "fit_seconds" in b else "none"
        rows.append(
            [
                b["name"],
                "",
                pct(b["accuracy"]),
                "",
                pct(b["weighted_accuracy"]),
                pr(b, "F"),
                pr(b, "M"),
                str(b["confusion_matrix"]),
                fit,
            ]
        )
    behind = [
        a
        for a, m in record["models"].items()
        if m["accuracy"] < REFERENCE_STUDY.get(a, 0)
    ]
    ngram = next(b for b in record["baselines"] if "n-gram" in b["name"])
    beaten = [
        a for a, m in record["models"].items() if m["accuracy"] > ngram["accuracy"]
    ]
    verdict = (
        "Every packed architecture matches or beats its reference number."
        if not behind
        else f"Below the reference number: {', '.join(behind)}."
    )
    verdict += (
        f" At the reference sizes and recipe, {', '.join(beaten) or 'none'} beat"
        f"{'s' if len(beaten) == 1 else ''} the n-gram baseline "
        f"({pct(ngram['accuracy'])})."
    )
    return [
        "## The reference table, with packed sequences",
        "",
        (
            f"Command: `{record['command']}`. Hardware: {record['hardware']}, one torch thread, "
            f"torch {record['torch']}."
        ),
        (
            "Recipe: embedding 25, hidden 50, 2 layers, dropout 0.3, Adam 3e-4, batch 32, "
            "30 epochs, checkpoint with the lowest valid loss; exclusive-rule census split "
            "(72,128 training and 18,032 validation names, seed 271828). The reference study "
            "column is the published accuracy of the same recipe without packing, on its own "
            "export of the census (18,021 validation names)."
        ),
        "",
        *table(
            [
                "model",
                "parameters",
                "valid accuracy",
                "reference study",
                "weighted accuracy",
                "F precision / recall",
                "M precision / recall",
                "confusion [[FF, FM], [MF, MM]]",
                "training",
            ],
            rows,
        ),
        "",
        verdict,
        "",
    ]


def recipes_section(records: list[dict]) -> list[str]:
    rows = []
    for r in sorted(records, key=lambda r: -r["metrics"]["accuracy"]):
        c, m = r["config"], r["metrics"]
        model = c["model"]
        recipe = (
            f"{model['arch']} e{model['embedding_dim']} h{model['hidden_size']} "
            f"drop {model['dropout']}, batch {c['batch_size']}, lr {c['lr']:g} {c['schedule']}, "
            f"wd {c['weight_decay']:g}, smoothing {c.get('label_smoothing', 0):g}, "
            f"{c['epochs']} epochs, target {c['target']}, rule {c['rule']}"
        )
        rows.append(
            [
                r["variant"],
                recipe,
                f"{m['parameters']:,}",
                pct(m["accuracy"]),
                pct(m["weighted_accuracy"]),
                f"{m['log_loss']:.4f}",
                f"{m['best_epoch']}/{m['epochs_run']}",
                f"{m['train_seconds'] / 60:.1f} min",
            ]
        )
    return [
        "## Recipe variants",
        "",
        (
            "Every variant tried, winners and losers, each trained by "
            "`python -m benchmarks.recipes --variant NAME` (one torch thread on the machine "
            "above, shared with other jobs, so training minutes are only indicative). All use "
            "the exclusive-rule split, hold 5% of the training names apart for temperature "
            "scaling, and keep the checkpoint with the lowest valid loss."
        ),
        "",
        *table(
            [
                "variant",
                "recipe",
                "parameters",
                "valid accuracy",
                "weighted accuracy",
                "valid log loss",
                "best epoch",
                "training",
            ],
            rows,
        ),
        "",
    ]


def quality_section(record: dict) -> list[str]:
    rows, robust = [], []
    variants = [
        k.removeprefix("accuracy ")
        for k in record["rows"][0]
        if k.startswith("accuracy ")
    ]
    for r in record["rows"]:
        rows.append(
            [
                r["model"],
                r["model_id"],
                pct(r["accuracy"]),
                pct(r["weighted_accuracy"]),
                f"{r['ece_before']:.4f}",
                f"{r['ece_after']:.4f}",
                f"{r['temperature']:.3f}",
                f"{r['names_per_s_1_thread']:,}",
            ]
        )
        robust.append(
            [
                r["model"],
                pct(r["accuracy"]),
                *(pct(r[f"accuracy {v}"]) for v in variants),
            ]
        )
    share = [
        [
            s["model"],
            f"{s['held_out_names']:,}",
            f"{s['log_loss_all']:.4f}",
            f"{s['mae_all']:.4f}",
            f"{s['ambiguous_names']:,}",
            f"{s['log_loss_ambiguous']:.4f}",
            f"{s['mae_ambiguous']:.4f}",
        ]
        for s in record.get("share_fit", [])
    ]
    plots = [
        f"![reliability of {r['model']}](reliability-{r['model']}.png)"
        for r in record["rows"]
    ]
    return [
        "## Shipped models: accuracy, calibration and speed",
        "",
        f"Command: `{record['command']}`. Hardware: {record['hardware']}.",
        (
            "ECE: expected calibration error over 15 bins of the predicted gender's probability, "
            "before and after dividing the logits by the temperature fitted on the calibration slice."
        ),
        "",
        *table(
            [
                "model",
                "model id",
                "valid accuracy",
                "weighted accuracy",
                "ECE before",
                "ECE after",
                "temperature",
                "names/s (onnxruntime, 1 thread)",
            ],
            rows,
        ),
        "",
        "### Robustness to spelling variants of the validation names",
        "",
        (
            "Each variant changes every validation name once and keeps its label. The accented "
            "raw form is undone by normalization, so it must equal clean accuracy."
        ),
        "",
        *table(["model", "clean", *variants], robust),
        "",
        "### Probabilities against the census share",
        "",
        (
            "Held-out names of the `all` rule (20% split, seed 271828), ambiguous ones "
            "(female share between 5% and 95%) reported apart. A model trained with "
            "`--target share` should follow the share; label-trained models are shown for "
            "contrast. They were trained on the exclusive-rule split, whose training names "
            "overlap this held-out set, so their figures here are optimistic."
        ),
        "",
        *table(
            [
                "model",
                "held-out names",
                "log loss",
                "MAE of prob_female",
                "ambiguous names",
                "log loss (ambiguous)",
                "MAE (ambiguous)",
            ],
            share,
        ),
        "",
        "### Reliability diagrams",
        "",
        *plots,
        "",
    ]


def main() -> None:
    lines = [
        "# nscore results",
        "",
        (
            "Accuracy, calibration and robustness of nscore's models on the IBGE 2010 census "
            "names. Rendered by `python -m benchmarks.render_results` from the JSON files in "
            "`benchmarks/results/`; speed across backends is in [BENCHMARKS.md](../BENCHMARKS.md)."
        ),
        "",
    ]
    if (RESULTS / "reference.json").is_file():
        lines += reference_section(json.loads((RESULTS / "reference.json").read_text()))
    recipes = [
        json.loads(p.read_text()) for p in sorted((RESULTS / "recipes").glob("*.json"))
    ]
    if recipes:
        lines += recipes_section(recipes)
    if (RESULTS / "quality.json").is_file():
        lines += quality_section(json.loads((RESULTS / "quality.json").read_text()))
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
