"""The `faceloop` command. Thin: parse the arguments, call the library, show progress.

Each command imports the library parts it uses inside its own function, on purpose: importing
them all here would load numpy, torch, dlib and the web app before `faceloop --help` or
`faceloop status` could answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from faceloop.workspace import Workspace, WorkspaceError, init_workspace, open_workspace

if TYPE_CHECKING:
    from faceloop.datasets.export import ExportPlan, WorkspaceExport

app = typer.Typer(
    help="Build labelled face datasets: import photos, label faces, train, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $FACELOOP_WORKSPACE, else the current folder).",
        show_default=False,
    ),
]


def _open(workspace: Path | None, *, read_only_ok: bool = False) -> Workspace:
    """The workspace, or one line on why not. Commands that only read pass `read_only_ok`, so
    a workspace on a read-only mount still answers them."""
    try:
        return open_workspace(workspace, read_only_ok=read_only_ok)
    except WorkspaceError as exc:
        _say_error(exc)
        raise typer.Exit(2) from None


def _say_error(exc: BaseException) -> None:
    """One line however wide the terminal: a script greps it, a person reads it whole."""
    errors.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")] = Path("."),
) -> None:
    """Create a workspace: settings, database, blob store and model folder."""
    try:
        ws = init_workspace(directory)
    except WorkspaceError as exc:
        _say_error(exc)
        raise typer.Exit(2) from None
    with ws:
        console.print(f"Workspace ready at [bold]{ws.root}[/bold]")
        console.print(f"Settings: {ws.root / 'faceloop.toml'}")
        console.print("Next: faceloop import PHOTOS... --workspace " + str(ws.root))


@app.command()
def status(workspace: WorkspaceOption = None) -> None:
    """Counts of photos, faces and people, and what is left to do."""
    from faceloop.review.overview import overview

    with _open(workspace, read_only_ok=True) as ws:
        o = overview(ws, limit=None)
        queued = _queued_jobs(ws)
    table = Table(title=f"faceloop workspace {ws.root}", show_header=False)
    table.add_row("photos", f"{o.photos:,}")
    table.add_row("  without a face", f"{o.photos_without_faces:,}")
    table.add_row("  near-copies linked", f"{o.near_copies:,}")
    table.add_row("faces", f"{o.faces:,}")
    table.add_row("  labelled with a person", f"{o.labelled:,}")
    table.add_row("  not a face / unknown person", f"{o.not_faces:,} / {o.unknown:,}")
    table.add_row("  unlabelled", f"{o.unlabelled:,}")
    table.add_row("people", f"{o.people:,}")
    table.add_row(f"  ready for a model ({o.threshold}+ faces)", f"{o.ready:,}")
    console.print(table)
    if o.progress:
        people = Table(title="faces per person")
        people.add_column("person")
        people.add_column("faces", justify="right")
        for row in o.progress[:50]:
            people.add_row(row.name, f"{row.faces:,}")
        if len(o.progress) > 50:
            people.add_row(f"… and {len(o.progress) - 50} more", "")
        console.print(people)
    pending = []
    if o.unlabelled:
        pending.append(f"{o.unlabelled:,} faces to label")
    if o.interrupted_imports:
        pending.append(
            f"{o.interrupted_imports} interrupted import(s): the next import cleans up after them"
        )
    pending.extend(queued)
    if not o.photos:
        pending.append(
            "no photos yet: faceloop import PATH... (--by-folder for a folder per person)"
        )
    console.print("Pending: " + ("; ".join(pending) if pending else "nothing"))


def _queued_jobs(ws: Workspace) -> list[str]:
    """Jobs that started by themselves (after decisions) or on request and wait for a worker:
    without `faceloop serve` or `faceloop worker` running they wait for good, so say so."""
    from faceloop.jobs.queue import QUEUED, list_jobs

    queued = [job for job in list_jobs(ws, active=True, limit=200) if job.status == QUEUED]
    if not queued:
        return []
    named = ", ".join(f"{job.kind} #{job.id}" for job in reversed(queued))
    return [f"{len(queued)} job(s) queued ({named}): faceloop serve or faceloop worker runs them"]


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Photo files and folders.")],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders.")] = (
        False
    ),
    by_folder: Annotated[
        bool,
        typer.Option(
            "--by-folder", help="Each folder's name is the person in its photos (implies -r)."
        ),
    ] = False,
    person: Annotated[
        str | None, typer.Option("--person", help="The person in all these photos.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (default: every core).")
    ] = None,
    group: Annotated[
        bool | None,
        typer.Option(
            "--group/--no-group",
            help="Group the new unlabelled faces into look-alike groups after the import "
            "(default: unless recluster_after is 0).",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit with status 1 when any file failed, not only when nothing could be "
            "imported (for scripts).",
        ),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Import photos: store each once, find and embed the faces, label by folder if asked,
    then group the new unlabelled faces."""
    from faceloop.ingest.run import ImportProgress, import_photos

    if by_folder and person:
        errors.print("[red]error:[/red] use either --by-folder or --person, not both")
        raise typer.Exit(2)
    with _open(workspace) as ws:
        columns = (
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} photos/s"),
            TextColumn("{task.fields[faces]} faces"),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            # the first photo waits for the face models (seconds): say so rather than sit at 0/N
            task = bar.add_task("finding photos…", total=None, rate="-", faces=0, failed=0)
            bar.refresh()

            def show(p: ImportProgress) -> None:
                elapsed = bar.tasks[0].elapsed or 0
                rate = f"{p.done / elapsed:.1f}" if elapsed > 1 else "-"
                bar.update(
                    task,
                    description="importing" if p.done else "loading face models…",
                    total=p.total,
                    completed=p.done,
                    rate=rate,
                    faces=f"{p.faces:,}",
                    failed=p.failed,
                )

            summary = import_photos(
                ws,
                paths,
                recursive=recursive,
                by_folder=by_folder,
                person=person,
                workers=workers,
                progress=show,
            )
        for line in _import_summary(summary):
            console.print(line)
        if summary.report:
            console.print("Report of failed files and warnings:")
            console.print(f"  {summary.report}", soft_wrap=True)
        stored = summary.imported + summary.exact_duplicates + summary.near_copies
        if stored == 0:
            errors.print(
                "[red]nothing could be imported[/red]" if summary.failed else "no photos found"
            )
            raise typer.Exit(1)
        _group_new_faces(ws, group)
        if strict and summary.failed:
            errors.print(f"[red]{summary.failed:,} file(s) failed[/red] (--strict)")
            raise typer.Exit(1)


def _import_summary(summary) -> list[str]:
    """Short lines (under 80 characters at any count), so a terminal never breaks a phrase."""
    rate = summary.imported / summary.seconds if summary.seconds else 0.0
    lines = [
        f"Imported [bold]{summary.imported:,}[/bold] photos with [bold]{summary.faces:,}[/bold] "
        f"faces in {summary.seconds:.1f} s ({rate:.1f} photos/s).",
        f"Photos without a face: {summary.without_faces:,}. Failed: {summary.failed:,}.",
        f"Exact duplicates: {summary.exact_duplicates:,}. "
        f"Near-copies linked: {summary.near_copies:,}.",
    ]
    if summary.labelled:
        lines.append(f"Labelled from names: {summary.labelled:,}.")
    if summary.exact_duplicates:
        # a photo already stored is not analysed again, whatever the settings now say
        lines.append(r"Changed the \[detect] settings? `faceloop redetect` finds faces again.")
    return lines


def _group_new_faces(ws: Workspace, wanted: bool | None) -> None:
    """Group the faces this import added (a few seconds even at a hundred thousand faces), or
    say plainly how to: otherwise the groups page would show nothing of them."""
    from faceloop.grouping.job import running_cluster_job
    from faceloop.grouping.run import recluster
    from faceloop.grouping.views import count_ungrouped

    ungrouped = count_ungrouped(ws)
    if not ungrouped:
        return
    if wanted is None:
        wanted = ws.settings.train.recluster_after > 0
    # a job still queued waits for a worker that may never come (no `faceloop serve` yet), so
    # only one a worker is running stands in for grouping here
    running = running_cluster_job(ws)
    if not wanted or running is not None:
        console.print(f"{ungrouped:,} new faces are not grouped yet.")
        if running is not None:
            console.print(f"A grouping job (#{running}) is running; it may not include them.")
        console.print("Next: faceloop cluster, or Re-cluster on the Groups page.")
        return
    with _bar() as bar:
        task = bar.add_task("grouping the new faces", total=None)
        run = recluster(ws, progress=_job_progress(bar, task))
    if run.groups:
        console.print(f"Grouped {ungrouped:,} new faces: {run.groups:,} groups to name.")
        console.print("Next: faceloop serve, then name them on the Groups page.")
    else:
        console.print(f"Grouped {ungrouped:,} new faces: none look alike enough to group.")
        console.print("Next: faceloop serve, then label them on the Label page.")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback needs a password.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    password: Annotated[
        bool,
        typer.Option(
            "--password",
            help="Set the login password first (asked for, or taken from $FACELOOP_PASSWORD).",
        ),
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Remove the password (loopback only then).")
    ] = False,
    worker: Annotated[
        bool, typer.Option(help="Run background jobs (imports) in this process.")
    ] = True,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Send the session cookie over HTTPS only (behind a TLS proxy).",
        ),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Serve the web app: label faces, manage people, upload photos (http://127.0.0.1:8000)."""
    import os

    from faceloop.learning.job import passive_openmp

    passive_openmp()
    from faceloop.web.security import set_password
    from faceloop.web.server import ServeError
    from faceloop.web.server import serve as run_server

    with _open(workspace) as ws:
        if no_password:
            set_password(ws, None)
            console.print("Password removed.")
        secret = os.environ.get("FACELOOP_PASSWORD")
        if password and not secret:
            secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        if secret:
            if set_password(ws, secret):
                console.print("Password set: pages need a login; earlier logins are ended.")
            else:
                console.print("Password unchanged: pages need a login.")
        try:
            run_server(
                ws,
                host,
                port,
                worker=worker,
                secure_cookies=secure_cookies,
                announce=console.print,
            )
        except ServeError as exc:
            errors.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Jobs run at once.")] = 2,
    workspace: WorkspaceOption = None,
) -> None:
    """Run background jobs only, for `faceloop serve --no-worker` on another process."""
    from faceloop.learning.job import passive_openmp

    passive_openmp()
    # each stage's job module registers the kinds of job it runs
    import faceloop.collect.job
    import faceloop.grouping.job
    import faceloop.ingest.job  # noqa: F401
    from faceloop.jobs.queue import queue_for

    with _open(workspace) as ws:
        console.print(f"faceloop worker for {ws.root} (Ctrl-C stops)")
        queue_for(ws).run_forever(threads)


def _job_progress(bar: Progress, task: int) -> Callable[[int, int | None, str], None]:
    def show(done: int, total: int | None, message: str) -> None:
        bar.update(task, completed=done, total=total, description=message)

    return show


def _bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@app.command()
def train(
    kind: Annotated[
        str | None, typer.Option("--kind", help="head (on embeddings) or cnn (on face crops).")
    ] = None,
    min_per_class: Annotated[
        int | None, typer.Option("--min-per-class", help="Faces a person needs for a class.")
    ] = None,
    other_ratio: Annotated[
        float | None, typer.Option("--other-ratio", help="Share of class 0, 'other'.")
    ] = None,
    then_predict: Annotated[
        bool, typer.Option("--predict/--no-predict", help="Predict unlabelled faces after.")
    ] = True,
    workspace: WorkspaceOption = None,
) -> None:
    """Train a classifier on the labelled faces, starting from the last model."""
    from faceloop.learning.job import calm_torch, passive_openmp

    passive_openmp()
    from faceloop.learning.predict import predict as run_predict
    from faceloop.learning.train import NotEnoughLabels
    from faceloop.learning.train import train as run_train

    with _open(workspace) as ws, _bar() as bar, calm_torch():
        task = bar.add_task("training", total=None)
        try:
            result = run_train(
                ws,
                kind,
                min_per_class=min_per_class,
                other_ratio=other_ratio,
                progress=_job_progress(bar, task),
            )
        except (NotEnoughLabels, ValueError) as exc:
            errors.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        start = "warm start from model " + str(result.parent_id) if result.warm_started else "cold"
        console.print(
            f"Model {result.model_id} ({result.kind}, {start}): {result.people} people, "
            f"{result.faces:,} training faces, held-out top-1 {result.accuracy:.1%}, "
            f"threshold {result.threshold:.3f}, {result.seconds:.1f} s."
        )
        if then_predict:
            predicted = run_predict(ws, result.model_id, progress=_job_progress(bar, task))
            console.print(f"Predicted {predicted.faces:,} unlabelled faces.")


@app.command()
def predict(workspace: WorkspaceOption = None) -> None:
    """Score every unlabelled face with the current model (suggestions to confirm)."""
    from faceloop.learning.job import calm_torch, passive_openmp

    passive_openmp()
    from faceloop.learning.predict import predict as run_predict
    from faceloop.learning.train import NoModel

    with _open(workspace) as ws, _bar() as bar, calm_torch():
        task = bar.add_task("predicting", total=None)
        try:
            result = run_predict(ws, progress=_job_progress(bar, task))
        except NoModel as exc:
            errors.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    console.print(
        f"Model {result.model_id} predicted {result.faces:,} faces in {result.seconds:.1f} s."
    )


@app.command()
def cluster(
    threshold: Annotated[
        float | None,
        typer.Option(help="Largest distance within a group (default: learned from the labels)."),
    ] = None,
    adapt: Annotated[
        bool | None,
        typer.Option(
            "--adapt/--no-adapt",
            help="Adapt distances to the labelled people once enough (default: adapt_groups).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Group unlabelled look-alike faces, so each group is named in one action."""
    from faceloop.grouping.job import check_cluster_params
    from faceloop.grouping.run import recluster

    try:
        check_cluster_params(threshold, adapt)
    except ValueError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    with _open(workspace) as ws, _bar() as bar:
        task = bar.add_task("grouping", total=None)
        run = recluster(ws, threshold=threshold, adapt=adapt, progress=_job_progress(bar, task))
    console.print(
        f"{run.groups:,} groups holding {run.grouped_faces:,} of {run.unlabelled_faces:,} "
        f"unlabelled faces ({run.suggested:,} offered as a known person); threshold "
        f"{run.threshold:.3f} ({run.threshold_source}"
        + (", adapted to the labelled people" if run.adapted else "")
        + f"), {run.seconds:.1f} s."
    )


@app.command()
def models(workspace: WorkspaceOption = None) -> None:
    """The trained models with their figures and parents."""
    from faceloop.learning.summaries import model_summaries

    with _open(workspace, read_only_ok=True) as ws:
        rows = model_summaries(ws)
    if not rows:
        console.print("No models yet: label faces, then `faceloop train`.")
        return
    table = Table(title="models")
    for column in ("id", "kind", "parent", "people", "train faces", "top-1", "threshold", "when"):
        table.add_column(column, justify="right" if column != "kind" else "left")
    for row in rows:
        table.add_row(
            str(row.model_id),
            row.kind,
            str(row.parent_id or "-"),
            str(row.people),
            f"{row.train_faces:,}",
            f"{row.accuracy:.1%}" if row.accuracy is not None else "-",
            f"{row.threshold:.3f}",
            row.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    latest = rows[0]
    if latest.confused:
        pairs = ", ".join(f"{a} → {b} ({n})" for a, b, n in latest.confused[:5])
        console.print(f"Most confused in model {latest.model_id}: {pairs}")


@app.command()
def identify(
    photos: Annotated[list[Path], typer.Argument(help="Photos to identify people in.")],
    threshold: Annotated[
        float | None, typer.Option(help="Score below which a face is 'unknown'.")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Who is in each photo: boxes and the five most likely people, or unknown."""
    from faceloop.learning.identify import identify as run_identify
    from faceloop.learning.train import NoModel
    from faceloop.vision.decode import UnreadableImage

    failed = 0
    with _open(workspace) as ws:
        for photo in photos:
            try:
                result = run_identify(ws, photo.read_bytes(), threshold=threshold)
            except (OSError, UnreadableImage) as exc:
                errors.print(f"{photo}: [red]cannot read it[/red]: {exc}")
                failed += 1
                continue
            except NoModel as exc:
                errors.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(1) from None
            console.print(f"[bold]{photo}[/bold]: {len(result.faces)} face(s)")
            for face in result.faces:
                b = face.box
                others = ", ".join(
                    f"{c.name} {c.score:.2f}" for c in face.candidates[1:] if c.person_id
                )
                console.print(
                    f"  ({b.left},{b.top})-({b.right},{b.bottom})  [bold]{face.name}[/bold] "
                    f"{face.score:.2f}" + (f"   also: {others}" if others else "")
                )
    if failed == len(photos):
        raise typer.Exit(1)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="A new or empty folder for the dataset.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="tfrecord, imagefolder, parquet or csv.")
    ] = "tfrecord",
    split: Annotated[
        str, typer.Option(help="Train, validation and test fractions, stratified by person.")
    ] = "0.8,0.1,0.1",
    seed: Annotated[int, typer.Option(help="Seed of the splits and of the 'other' sample.")] = 0,
    split_rule: Annotated[
        str,
        typer.Option(
            help="exact: every person split to within one face; hash: no face ever changes "
            "split as faces are added."
        ),
    ] = "exact",
    min_per_class: Annotated[
        int | None,
        typer.Option(help="Faces a person needs for a label (default: the training setting)."),
    ] = None,
    other_ratio: Annotated[
        float | None,
        typer.Option(help="Share of label 0, 'other' (default: the training setting)."),
    ] = None,
    crop: Annotated[
        str, typer.Option(help="112 (face crop), 150 (aligned chip) or photo (whole photo).")
    ] = "112",
    people: Annotated[
        list[str] | None,
        typer.Option("--people", help="Only this person (name, alias or #id); repeatable."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only faces labelled since this date (YYYY-MM-DD).")
    ] = None,
    common_keys: Annotated[
        bool,
        typer.Option(
            "--common-keys",
            help="TFRecord: image/encoded, image/format, image/class/label instead of "
            "image_raw, label, id.",
        ),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Export the labelled faces as a dataset, with manifests, labels.json and a dataset card."""
    from faceloop.datasets.export import DatasetOptions, export_workspace, plan_export
    from faceloop.export import ExportError
    from faceloop.options import OptionError
    from faceloop.workspace.faults import from_os_error

    try:
        options = DatasetOptions.from_text(
            format=format,
            split=split,
            seed=seed,
            split_rule=split_rule,
            min_per_class=min_per_class,
            other_ratio=other_ratio,
            crop=crop,
            people=tuple(people or ()),
            since=since,
            common_keys=common_keys,
        )
    except ValueError as exc:
        message = exc.flag_message() if isinstance(exc, OptionError) else str(exc)
        errors.print(f"[red]error:[/red] {message}")
        raise typer.Exit(2) from None
    with _open(workspace, read_only_ok=True) as ws:
        try:
            plan = plan_export(ws, options)
        except ValueError as exc:
            errors.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        for note in plan.notes:
            errors.print(f"[yellow]note:[/yellow] {note}")
        try:
            with _export_bar(options.format) as bar:
                task = bar.add_task("export", total=plan.faces)
                result = export_workspace(
                    ws,
                    out,
                    options,
                    plan=plan,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        except KeyboardInterrupt:
            errors.print(f"[red]interrupted[/red]: nothing was written under a final name in {out}")
            raise typer.Exit(130) from None
        except OSError as exc:
            _say_error(from_os_error(exc, out) or exc)
            raise typer.Exit(1) from None
        except (ExportError, WorkspaceError) as exc:
            _say_error(exc)
            raise typer.Exit(1) from None
    _print_export(result, plan)


def _export_bar(format: str) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]exporting {format}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _print_export(result: WorkspaceExport, plan: ExportPlan) -> None:
    """What went out, per label and split, and what was skipped."""
    summary = result.summary
    table = Table(title=f"{summary.faces:,} faces exported to {summary.out_dir}")
    for column in ("label", "person", "train", "validation", "test"):
        table.add_column(column, justify="left" if column == "person" else "right")
    for label, info in plan.labels_info.items():
        counts = summary.per_label.get(label, {})
        name = "other (not a target)" if label == 0 else info.name or ""
        table.add_row(str(label), name, *(f"{counts.get(s, 0):,}" for s in SPLITS_SHOWN))
    table.add_row("", "all", *(f"{summary.per_split[s]:,}" for s in SPLITS_SHOWN))
    console.print(table)
    megabytes = summary.image_bytes / 1e6
    rate = summary.faces / result.seconds if result.seconds else 0.0
    console.print(
        f"{plan.people} people, {megabytes:.1f} MB of images in {result.seconds:.1f} s "
        f"({rate:,.0f} faces/s). Files: " + ", ".join(p.name for p in summary.files)
    )
    for skipped in summary.skipped[:20]:
        errors.print(f"[yellow]skipped[/yellow] face {skipped.face_id}: {skipped.reason}")


SPLITS_SHOWN = ("train", "validation", "test")


@app.command("import-dataset")
def import_dataset(
    path: Annotated[
        Path,
        typer.Argument(
            help="A dataset folder (TFRecord, Parquet, CSV, image folders), one .tfrecord or "
            ".parquet file, or a folder per person of face crops or photos."
        ),
    ],
    kind: Annotated[
        str,
        typer.Option(
            "--images", help="crop, photo, or auto (small and nearly square means a crop)."
        ),
    ] = "auto",
    workspace: WorkspaceOption = None,
) -> None:
    """Import a dataset's faces as labelled faces; running it again adds nothing."""
    from faceloop.datasets.importing import DatasetImportSummary
    from faceloop.datasets.importing import import_dataset as run_import
    from faceloop.options import ImportImages, OptionError, choose

    try:
        images = choose(ImportImages, kind, "images")
    except OptionError as exc:
        errors.print(f"[red]error:[/red] {exc.flag_message()}")
        raise typer.Exit(2) from None
    shown: list[str] = []
    with _open(workspace) as ws, _bar() as bar:
        task = bar.add_task("reading", total=None)

        def show(summary: DatasetImportSummary) -> None:
            bar.update(
                task,
                completed=summary.read,
                description=f"{summary.read:,} read, {summary.added:,} new faces, "
                f"{len(summary.problems)} problems",
            )

        try:
            summary = run_import(
                ws, path, kind=images, progress=show, on_problem=lambda p: shown.append(str(p))
            )
        except (FileNotFoundError, ValueError) as exc:
            errors.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    for line in shown[:50]:
        errors.print(f"[yellow]skipped[/yellow] {line}")
    if len(shown) > 50:
        errors.print(f"… and {len(shown) - 50} more problems")
    console.print(
        f"Read {summary.read:,} faces ({summary.format}) in {summary.seconds:.1f} s: "
        f"{summary.added:,} new, {summary.labelled:,} labelled, {summary.already:,} already "
        f"labelled here, {len(summary.problems):,} problems."
    )
    if summary.people_created:
        console.print(
            f"New people ({len(summary.people_created)}): "
            + ", ".join(summary.people_created[:20])
            + (" …" if len(summary.people_created) > 20 else "")
        )
    if summary.read == 0 and summary.problems:
        raise typer.Exit(1)


@app.command()
def forget(
    person: Annotated[str, typer.Argument(help="The person's name, an alias, or #id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = (
        False
    ),
    workspace: WorkspaceOption = None,
) -> None:
    """Remove a person and their faces, crops, decisions and predictions for good."""
    from faceloop.datasets.forget import UnknownPerson, find_person, forget_person, plan_forget

    with _open(workspace) as ws:
        try:
            plan = plan_forget(ws, find_person(ws, person))
        except UnknownPerson as exc:
            errors.print(f"[red]error:[/red] {exc.args[0]}")
            raise typer.Exit(1) from None
        also = f" (also known as {', '.join(plan.aliases)})" if plan.aliases else ""
        console.print(
            f"This removes [bold]{plan.name}[/bold]{also} with {plan.faces:,} labelled faces and "
            f"{plan.decisions:,} decisions naming them"
            + (f", and {plan.models} model(s) that know them" if plan.models else "")
            + ". It cannot be undone; exports made before are not touched."
        )
        if not yes and not typer.confirm("Forget this person?", default=False):
            errors.print("Nothing was changed.")
            raise typer.Exit(1)
        result = forget_person(ws, plan.person_id, ws.owner_id())
    console.print(
        f"Forgot {result.name}: {result.faces:,} faces, {result.decisions:,} decisions, "
        f"{result.predictions:,} predictions, {result.photos:,} photos and {result.blobs:,} "
        "stored files removed. Collection will refuse them from now on."
    )
    for note in result.notes:
        console.print(f"note: {note}")


@app.command()
def redetect(
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only photos first imported on or after this date (YYYY-MM-DD)."
        ),
    ] = None,
    person: Annotated[
        str | None,
        typer.Option("--person", help="Only photos showing this person (a name, alias or #id)."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every photo (the default without --since or --person).")
    ] = False,
    group: Annotated[
        bool | None,
        typer.Option(
            "--group/--no-group",
            help="Group the new unlabelled faces afterwards "
            "(default: unless recluster_after is 0).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Find the faces of stored photos again with the current [detect] settings: faces with a
    decision are kept, new ones added, machine-only faces no longer found removed."""
    from datetime import date

    from faceloop.datasets.forget import UnknownPerson, find_person
    from faceloop.ingest.redetect import RedetectBusy, RedetectProgress, select_photos
    from faceloop.ingest.redetect import redetect as run_redetect

    if every and (since or person):
        errors.print("[red]error:[/red] use --all alone, or narrow with --since and --person")
        raise typer.Exit(2)
    try:
        day = date.fromisoformat(since) if since else None
    except ValueError:
        errors.print(f"[red]error:[/red] --since {escape(since)!r}: not a date like 2024-05-31")
        raise typer.Exit(2) from None
    with _open(workspace) as ws:
        try:
            person_id = find_person(ws, person) if person else None
        except UnknownPerson as exc:
            errors.print(f"[red]error:[/red] --person: {escape(exc.args[0])}", soft_wrap=True)
            raise typer.Exit(2) from None
        photos = select_photos(ws, since=day, person_id=person_id)
        if not photos:
            console.print("No photos to analyse again.")
            return
        with _bar() as bar:
            task = bar.add_task("loading face models…", total=len(photos))

            def show(p: RedetectProgress) -> None:
                bar.update(
                    task,
                    completed=p.done,
                    description=f"{p.added:,} faces added, {p.removed:,} removed",
                )

            try:
                summary = run_redetect(ws, photos, progress=show)
            except RedetectBusy as exc:
                errors.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(1) from None
        for line in _redetect_summary(summary):
            console.print(line)
        for problem in summary.problems[:20]:
            errors.print(f"[yellow]failed[/yellow] {escape(problem)}", soft_wrap=True)
        if summary.added:
            _group_new_faces(ws, group)


def _redetect_summary(summary) -> list[str]:
    lines = [
        f"Analysed [bold]{summary.photos:,}[/bold] photos again in {summary.seconds:.1f} s: "
        f"{summary.changed:,} changed.",
        f"Faces added: {summary.added:,}. Removed (found by no one now): {summary.removed:,}.",
        f"Kept as they were: {summary.matched:,} found again, {summary.kept_unmatched:,} with "
        "a decision.",
    ]
    if summary.skipped or summary.failed:
        lines.append(
            f"Skipped (near copies, face crops): {summary.skipped:,}. Failed: {summary.failed:,}."
        )
    if summary.added:
        lines.append(
            "Photos imported with --by-folder or --person: import them again the same way "
            "to label the faces found now."
        )
    return lines


# ------------------------------------------------------------------ collection

source_app = typer.Typer(
    help="Where photos are collected from: folders, URL lists, feeds, Mastodon, Misskey, "
    "Bluesky and X.",
    no_args_is_help=True,
)
app.add_typer(source_app, name="source")

SOURCE_EXAMPLES = """Examples:

  faceloop source add folder ~/Pictures/idols
  faceloop source add urls ~/idols/urls.txt
  faceloop source add rss https://rssblog.ameba.jp/nogizaka46/rss20.xml
  faceloop source add mastodon https://mstdn.jp --tag CHEERZ
  faceloop source add mastodon https://mstdn.jp --account aya_idol@mstdn.jp
  faceloop source add misskey https://misskey.io --tag dmmyell
  faceloop source add bluesky aya.bsky.social
  faceloop source add bluesky --tag CHEERZ --login me.bsky.social
  faceloop source add x --query "#CHEERZ has:images -is:retweet" --monthly-reads 10000
  faceloop source add x --account aya_idol

Tokens and app passwords: `faceloop source secret NAME` (the error that needs one names it)."""


@source_app.command("add", epilog=SOURCE_EXAMPLES)
def source_add(
    kind: Annotated[str, typer.Argument(help="folder, urls, rss, mastodon, misskey, bluesky, x")],
    target: Annotated[
        str, typer.Argument(help="The folder, file, feed, instance or account.")
    ] = "",
    tag: Annotated[str | None, typer.Option(help="A hashtag to follow.")] = None,
    account: Annotated[str | None, typer.Option(help="An account to follow.")] = None,
    query: Annotated[str | None, typer.Option(help="A search (X).")] = None,
    login: Annotated[
        str | None, typer.Option(help="The handle to log in as (Bluesky search).")
    ] = None,
    every: Annotated[
        int | None, typer.Option(help="Minutes between runs (default: [collect] every_minutes).")
    ] = None,
    backfill: Annotated[int | None, typer.Option(help="Posts read back on the first run.")] = None,
    monthly_reads: Annotated[
        int | None, typer.Option(help="X: reads allowed a month (each post read is billed).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Add a source; it is collected on its schedule (and by `faceloop collect --once`)."""
    from faceloop.collect.base import SourceError
    from faceloop.collect.run import add_source

    options = {
        "tag": tag,
        "account": account,
        "query": query,
        "login": login,
        "backfill": backfill,
        "monthly_reads": monthly_reads,
    }
    with _open(workspace) as ws:
        try:
            info = add_source(ws, kind, target, options, every)
        except SourceError as exc:
            _say_error(exc)
            raise typer.Exit(2) from None
        console.print(
            f"Added source #{info.id}: {info.kind} {escape(info.name)}, every "
            f"{info.every_minutes} minutes. Collect now: faceloop collect --once {info.id}"
        )


@source_app.command("list")
def source_list(workspace: WorkspaceOption = None) -> None:
    """Every source with its state, last run and what it brought."""
    from faceloop.collect.run import list_sources

    with _open(workspace, read_only_ok=True) as ws:
        sources = list_sources(ws)
    if not sources:
        console.print("No sources yet. " + SOURCE_EXAMPLES.splitlines()[2].strip())
        return
    table = Table("#", "kind", "name", "state", "last run", "posts", "photos", "faces")
    for s in sources:
        state = "paused" if s.paused else f"every {s.every_minutes} min"
        last = s.last_run_at.strftime("%Y-%m-%d %H:%M") if s.last_run_at else "never"
        if s.last_error:
            last += f" ({s.last_error[:60]})"
        if s.settings.get("monthly_reads"):
            state += f", {s.reads_used:,}/{int(s.settings['monthly_reads']):,} reads"
        table.add_row(
            str(s.id),
            s.kind,
            escape(s.name),
            state,
            escape(last),
            f"{s.posts:,}",
            f"{s.photos:,}",
            f"{s.faces:,}",
        )
    console.print(table)


def _source_change(ref: str, workspace: Path | None, change: str) -> None:
    from faceloop.collect.base import SourceError
    from faceloop.collect.run import find_source, remove_source, set_paused

    with _open(workspace) as ws:
        try:
            source_id = find_source(ws, ref)
        except SourceError as exc:
            _say_error(exc)
            raise typer.Exit(2) from None
        if change == "remove":
            remove_source(ws, source_id)
            console.print(f"Removed source #{source_id}; its photos, faces and labels stay.")
        else:
            set_paused(ws, source_id, change == "pause")
            console.print(f"Source #{source_id} {'paused' if change == 'pause' else 'resumed'}.")


SourceRef = Annotated[str, typer.Argument(help="The source's number or name (source list).")]


@source_app.command("pause")
def source_pause(source: SourceRef, workspace: WorkspaceOption = None) -> None:
    """Stop collecting a source on its schedule (it keeps its cursor)."""
    _source_change(source, workspace, "pause")


@source_app.command("resume")
def source_resume(source: SourceRef, workspace: WorkspaceOption = None) -> None:
    """Collect a paused source on its schedule again."""
    _source_change(source, workspace, "resume")


@source_app.command("remove")
def source_remove(source: SourceRef, workspace: WorkspaceOption = None) -> None:
    """Stop collecting a source for good; what it brought stays."""
    _source_change(source, workspace, "remove")


@source_app.command("test")
def source_test(source: SourceRef, workspace: WorkspaceOption = None) -> None:
    """Read a source's first page, store nothing, and say what it would bring."""
    from faceloop.collect.base import SourceContext, SourceError
    from faceloop.collect.fetch import FetchError
    from faceloop.collect.run import find_source, make_fetcher, source_info
    from faceloop.collect.sources import kind as kind_named
    from faceloop.workspace.secrets import secrets_for

    with _open(workspace, read_only_ok=True) as ws:
        try:
            info = source_info(ws, find_source(ws, source))
            found = kind_named(info.kind)
            secrets = secrets_for(ws.root, found.secrets_needed(info.settings))
            with make_fetcher(ws) as fetcher:
                for page in found.pages(info.settings, None, SourceContext(fetcher, secrets)):
                    if page.posts:
                        break
                else:
                    page = None
        except (SourceError, FetchError) as exc:
            _say_error(exc)
            raise typer.Exit(1) from None
    if page is None:
        console.print(f"{escape(info.name)}: answers, with no posts with images yet.")
        return
    images = sum(len(p.images) for p in page.posts)
    console.print(
        f"{escape(info.name)}: answers; its first page has {len(page.posts)} posts "
        f"with {images} images, for example:"
    )
    for post in page.posts[:5]:
        who = post.author or "(no account)"
        console.print(f"  {escape(who)}  {escape(post.url or post.external_id)}", soft_wrap=True)


@source_app.command("secret")
def source_secret(
    name: Annotated[str, typer.Argument(help="The secret's name, as an error asked for it.")],
    remove: Annotated[bool, typer.Option("--remove", help="Forget it.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Store a token or app password in the workspace's secrets file (readable by you only);
    it is asked for without echo, or read from standard input."""
    import sys

    from faceloop.workspace.secrets import env_name, set_secret

    with _open(workspace) as ws:
        if remove:
            set_secret(ws.root, name, None)
            console.print(f"Forgot the secret {escape(name)}.")
            return
        if sys.stdin.isatty():
            value = typer.prompt(f"{name}", hide_input=True)
        else:
            value = sys.stdin.readline().strip()
        if not value:
            _say_error(ValueError("no secret given"))
            raise typer.Exit(2)
        set_secret(ws.root, name, value)
    console.print(f"Stored the secret {escape(name)} (or set ${env_name(name)} instead).")


@app.command("collect")
def collect_command(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources by number or name (default: all).")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="One run of each source, then stop.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Collect new photos from the sources: once, or on their schedules until Ctrl-C."""
    import time

    from faceloop.collect.base import SourceError
    from faceloop.collect.run import CollectProgress, collect, due_sources, find_source

    with _open(workspace) as ws:
        try:
            ids = [find_source(ws, ref) for ref in sources or []] or None
        except SourceError as exc:
            _say_error(exc)
            raise typer.Exit(2) from None

        def run(chosen: list[int] | None) -> list:
            with _bar() as bar:
                task = bar.add_task("collecting…", total=None)

                def show(p: CollectProgress) -> None:
                    bar.update(
                        task,
                        completed=p.posts,
                        description=f"{p.source}: {p.posts} posts, {p.photos} photos, "
                        f"{p.faces} faces",
                    )

                runs = collect(ws, chosen, progress=show)
            for r in runs:
                line = (
                    f"{escape(r.name)}: {r.posts:,} new posts, {r.photos:,} new photos "
                    f"({r.duplicates:,} seen before), {r.faces:,} faces"
                )
                if r.skipped:
                    line += f", {r.skipped:,} posts skipped (do not collect)"
                if r.failed:
                    line += f", {r.failed:,} images failed"
                console.print(line, soft_wrap=True)
                for problem in r.problems[:5]:
                    console.print(f"  {escape(problem)}", soft_wrap=True)
                if r.error:
                    errors.print(f"[red]{escape(r.name)}:[/red] {escape(r.error)}", soft_wrap=True)
            return runs

        if once:
            runs = run(ids)
            if not runs:
                console.print(
                    "Nothing to collect: every source is paused, or there is none "
                    "(see `faceloop source list`)."
                )
            if runs and all(r.error for r in runs):
                raise typer.Exit(1)
            return
        console.print("Collecting on each source's schedule (Ctrl-C stops).")
        try:
            while True:
                due = [i for i in due_sources(ws) if ids is None or i in ids]
                if due:
                    run(due)
                time.sleep(30)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


def main() -> None:
    """The `faceloop` command. A full disk, a read-only mount or a database file replaced
    under a running command stops any command: one line and exit code 1, never a traceback;
    what was stored before stays stored."""
    import sys

    from faceloop.workspace.faults import from_os_error

    try:
        app()
    except WorkspaceError as exc:
        _say_error(exc)
        sys.exit(1)
    except OSError as exc:
        fault = from_os_error(exc, exc.filename or "its folder")
        if fault is None:
            raise
        _say_error(fault)
        sys.exit(1)
