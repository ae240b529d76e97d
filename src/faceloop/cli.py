"""The `faceloop` command. Thin: parse the arguments, call the library, show progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
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


def _open(workspace: Path | None) -> Workspace:
    try:
        return open_workspace(workspace)
    except WorkspaceError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")] = Path("."),
) -> None:
    """Create a workspace: settings, database, blob store and model folder."""
    try:
        ws = init_workspace(directory)
    except WorkspaceError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    with ws:
        console.print(f"Workspace ready at [bold]{ws.root}[/bold]")
        console.print(f"Settings: {ws.root / 'faceloop.toml'}")
        console.print("Next: faceloop import PHOTOS... --workspace " + str(ws.root))


@app.command()
def status(workspace: WorkspaceOption = None) -> None:
    """Counts of photos, faces and people, and what is left to do."""
    from faceloop.status import workspace_status

    with _open(workspace) as ws:
        st = workspace_status(ws)
    table = Table(title=f"faceloop workspace {ws.root}", show_header=False)
    table.add_row("photos", f"{st.images:,}")
    table.add_row("  without a face", f"{st.images_without_faces:,}")
    table.add_row("  near-copies linked", f"{st.near_copies:,}")
    table.add_row("faces", f"{st.faces:,}")
    table.add_row("  labelled with a person", f"{st.labelled:,}")
    table.add_row("  not a face / unknown person", f"{st.not_faces:,} / {st.unknown_people:,}")
    table.add_row("  unlabelled", f"{st.unlabelled:,}")
    table.add_row("people", f"{st.people:,}")
    console.print(table)
    if st.per_person:
        people = Table(title="faces per person")
        people.add_column("person")
        people.add_column("faces", justify="right")
        for row in st.per_person[:50]:
            people.add_row(row.name, f"{row.faces:,}")
        if len(st.per_person) > 50:
            people.add_row(f"… and {len(st.per_person) - 50} more", "")
        console.print(people)
    pending = []
    if st.unlabelled:
        pending.append(f"{st.unlabelled:,} faces to label")
    if st.interrupted_imports:
        pending.append(
            f"{st.interrupted_imports} interrupted import(s): the next import cleans up after them"
        )
    if not st.images:
        pending.append(
            "no photos yet: faceloop import PATH... (--by-folder for a folder per person)"
        )
    console.print("Pending: " + ("; ".join(pending) if pending else "nothing"))


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
    workspace: WorkspaceOption = None,
) -> None:
    """Import photos: store each once, find and embed the faces, label by folder if asked."""
    from faceloop.ingest import ImportProgress, import_photos

    if by_folder and person:
        errors.print("[red]error:[/red] use either --by-folder or --person, not both")
        raise typer.Exit(2)
    with _open(workspace) as ws:
        columns = (
            SpinnerColumn(),
            TextColumn("[bold]importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} photos/s"),
            TextColumn("{task.fields[faces]} faces"),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("import", total=None, rate="-", faces=0, failed=0)

            def show(p: ImportProgress) -> None:
                elapsed = bar.tasks[0].elapsed or 0
                rate = f"{p.done / elapsed:.1f}" if elapsed > 1 else "-"
                bar.update(
                    task,
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
    rate = summary.imported / summary.seconds if summary.seconds else 0.0
    console.print(
        f"Imported [bold]{summary.imported:,}[/bold] photos with [bold]{summary.faces:,}[/bold] "
        f"faces ({summary.without_faces:,} photos without a face) in {summary.seconds:.1f} s "
        f"({rate:.1f} photos/s)."
    )
    console.print(
        f"Exact duplicates: {summary.exact_duplicates:,}. Near-copies linked: "
        f"{summary.near_copies:,}. Failed: {summary.failed:,}."
        + (f" Labelled from names: {summary.labelled:,}." if summary.labelled else "")
    )
    if summary.report:
        console.print(f"Report of failed files and warnings: {summary.report}")
    stored = summary.imported + summary.exact_duplicates + summary.near_copies
    if stored == 0:
        errors.print(
            "[red]nothing could be imported[/red]" if summary.failed else "no photos found"
        )
        raise typer.Exit(1)


def main() -> None:
    app()
