"""Issue 14's probes in one go, as an attacker and a careless user would run them, against fresh
workspaces in a temporary folder: a table of probe | expected | observed | pass.

    .venv/bin/python bench/fault_injection.py [--probe NAME ...] [--photos 30] [--keep]
        [--data ../shared/data/lfw-devtrain]

Black box: only the command line (`python -m faceloop`, or `faceloop.cli.main` where the package
has no __main__) and HTTP against a real `faceloop serve`, with this environment's PYTHONPATH, so
it measures whichever faceloop that path finds. Probes (NAME):

- login: 100 wrong passwords at once, then 59 wrong and the right one at once from one
  address, then the right one from another address behind a trusted proxy (X-Forwarded-For);
- cookies: a cookie kept from before a logout, and one from before a restart with a new
  password (with its CSRF token), used again;
- imports: two `faceloop import` runs at once on one folder into one fresh workspace;
- settings: `[detect] min_face` = -1, 0, 100000 and `detector = "cnn2"`, then an import;
- sigkill: `kill -9` of `faceloop import --workers 2`, and of `faceloop serve` during an
  upload's import job, while their workers are busy: does any process they started live on?
- bodies: a 200 MB JSON body streamed to the server, with a health check beside it;
- disk: an import into a workspace on a nearly full tmpfs (needs root to mount), then the
  workspace opened, then the import run again once there is room.

Exit code 0 only when every row passes. The photos (--photos of them, from a folder-per-person
set) are copied into the temporary folder; nothing outside it is changed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import httpx

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw-devtrain"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different password"
COOKIE = "faceloop_session"
#: how long a killed command's processes may outlive it
ORPHAN_GRACE = 10.0


@dataclass(frozen=True)
class Row:
    probe: str
    expected: str
    observed: str
    passed: bool


def table(rows: list[Row]) -> str:
    """The rows as a plain-text table that reads in a terminal and pastes into a note."""
    head = ("probe", "expected", "observed", "pass")
    cells = [(r.probe, r.expected, r.observed, "PASS" if r.passed else "FAIL") for r in rows]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(4)]

    def line(values: tuple[str, ...]) -> str:
        return " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(head), rule, *(line(c) for c in cells)])


def say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------ the command line, black box


def faceloop_command() -> list[str]:
    """`python -m faceloop` where the package can be run so; its CLI's entry point otherwise."""
    if importlib.util.find_spec("faceloop.__main__") is not None:
        return [sys.executable, "-m", "faceloop"]
    return [sys.executable, "-c", "import sys; from faceloop.cli import main; sys.exit(main())"]


def child_env(**extra: str) -> dict[str, str]:
    """This environment (its PYTHONPATH picks the faceloop under test), with wide, plain
    output so a message is one line."""
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FACELOOP_WORKSPACE", None)
    env.update(extra)
    return env


def run(*args: str, timeout: float = 300, env: dict[str, str] | None = None):
    return subprocess.run(
        [*faceloop_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or child_env(),
        stdin=subprocess.DEVNULL,
    )


def start(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A faceloop command in a session of its own, so its descendants can be found after it
    dies (they keep the session id when they are handed to init). Its output goes to `log`:
    a pipe nobody reads would stall a chatty server."""
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.Popen(
            [*faceloop_command(), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env or child_env(),
            start_new_session=True,
        )


def finish(process: subprocess.Popen, log: Path, timeout: float = 240) -> tuple[int, str]:
    """Wait for a started command: (exit code, its output)."""
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        stop(process)
    return process.returncode, log.read_text(encoding="utf-8", errors="replace")


#: where the workspace every probe copies is made (set per run by run_probes)
_TEMPLATES: dict[str, Path] = {}


def init_workspace(root: Path, **sections: dict[str, object]) -> Path:
    """A fresh workspace at `root`: `faceloop init` once per run, copied for each probe (an
    init costs a process start), then the given settings written into its faceloop.toml."""
    template = _TEMPLATES.setdefault("home", root.parent) / "template-workspace"
    if not template.exists():
        done = run("init", str(template), timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"faceloop init failed: {last_line(done.stderr)}")
    shutil.copytree(template, root)
    if sections:
        set_settings(root, sections)
    return root


def set_settings(root: Path, sections: dict[str, dict[str, object]]) -> None:
    """Replace (or add) keys in the workspace's faceloop.toml, leaving the rest as written."""
    path = root / "faceloop.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    for section, values in sections.items():
        for key, value in values.items():
            text = f"{key} = {json.dumps(value)}"
            lines = _set_key(lines, section, key, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _set_key(lines: list[str], section: str, key: str, text: str) -> list[str]:
    current = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            current = stripped.strip("[]")
        elif current == section and stripped.split("=")[0].strip() == key:
            return [*lines[:i], text, *lines[i + 1 :]]
    if f"[{section}]" not in [line.strip() for line in lines]:
        return [*lines, "", f"[{section}]", text]
    at = [line.strip() for line in lines].index(f"[{section}]")
    return [*lines[: at + 1], text, *lines[at + 1 :]]


def last_line(text: str) -> str:
    """The line that says what went wrong: the last one, but not SQLAlchemy's link to its
    documentation that follows the error itself."""
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("(Background on this error")
    ]
    return lines[-1] if lines else "(nothing)"


def short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def copy_photos(data: Path, into: Path, count: int) -> Path:
    """`count` photos of a folder-per-person set, spread over its people, copied under `into`
    in their person folders."""
    people = sorted(p for p in data.iterdir() if p.is_dir())
    chosen: list[Path] = []
    rank = 0
    while len(chosen) < count:
        added = False
        for person in people:
            photos = sorted(p for p in person.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
            if rank < len(photos):
                chosen.append(photos[rank])
                added = True
                if len(chosen) == count:
                    break
        if not added:
            break
        rank += 1
    for photo in chosen:
        (into / photo.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, into / photo.parent.name / photo.name)
    return into


def distinct_files(folder: Path) -> int:
    return len({sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()})


def stored(root: Path) -> tuple[int, int, int]:
    """(photos, faces, faces stored twice with the same box) in a workspace's database."""
    path = root / "faceloop.db"
    if not path.exists():
        return 0, 0, 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        images = db.execute("select count(*) from image").fetchone()[0]
        faces = db.execute("select count(*) from face").fetchone()[0]
        twice = db.execute(
            'select count(*) from (select 1 from face group by image_id, "left", top, "right", '
            "bottom having count(*) > 1)"
        ).fetchone()[0]
    except sqlite3.Error:
        return 0, 0, 0
    finally:
        db.close()
    return images, faces, twice


# ------------------------------------------------------------------ processes


def _stat(pid: int) -> tuple[int, int, str, int] | None:
    """(parent pid, session id, state, start time) of a live process, None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[3]), fields[0], int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """pid -> start time of every live process below `root`."""
    children: dict[int, list[int]] = {}
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = info
            children.setdefault(info[0], []).append(int(entry.name))
    found: dict[int, int] = {}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found[child] = stats[child][3]
            stack.append(child)
    return found


def in_session(session: int) -> dict[int, int]:
    """pid -> start time of every live (not zombie) process of a session."""
    found = {}
    for entry in Path("/proc").iterdir():
        info = _stat(int(entry.name)) if entry.name.isdigit() else None
        if info is not None and info[1] == session and info[2] != "Z":
            found[int(entry.name)] = info[3]
    return found


def survivors(known: dict[int, int], session: int, grace: float) -> list[str]:
    """Processes of a killed command still alive (same pid and start time, not a zombie)
    `grace` seconds on; gone ones are checked for until then, so a quick exit counts."""
    deadline = time.monotonic() + grace
    while True:
        alive = {
            pid: started
            for pid, started in {**known, **in_session(session)}.items()
            if (info := _stat(pid)) is not None and info[3] == started and info[2] != "Z"
        }
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    return [f"{pid} ({_name(pid)})" for pid in sorted(alive)]


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:60]
    except OSError:
        return "?"


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def stop(process: subprocess.Popen) -> None:
    """Stop a command and everything of its session, whatever state it is in."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
    for pid in in_session(process.pid):
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------ the server


class Server:
    """`faceloop serve` on a free loopback port, ready once its health route answers."""

    def __init__(self, root: Path, password: str | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ["serve", "--port", str(self.port), "--workspace", str(root)]
        extra = {}
        if password:
            args.append("--password")
            extra["FACELOOP_PASSWORD"] = password
        self.log = root.parent / f"serve-{self.port}.log"
        self.process = start(*args, log=self.log, env=child_env(**extra))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"faceloop serve exited: {last_line(self.log.read_text())}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        stop(self.process)
        raise RuntimeError("faceloop serve did not answer within 90 s")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop(self.process)


@contextmanager
def serving(root: Path, password: str | None = None) -> Iterator[Server]:
    server = Server(root, password)
    try:
        yield server
    finally:
        server.stop()


def login(url: str, password: str, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.post(
        f"{url}/api/v1/login", json={"password": password}, headers=headers, timeout=120
    )


def at_once(calls: list[Callable[[], int]]) -> list[int]:
    """Every call in a thread of its own, started together; their status codes (0: no
    answer)."""
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], int]) -> int:
        barrier.wait()
        try:
            return call()
        except httpx.HTTPError:
            return 0

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def counts(codes: list[int]) -> str:
    return ", ".join(f"{n} x {code or 'no answer'}" for code, n in sorted(Counter(codes).items()))


# ------------------------------------------------------------------ probes


def probe_login(work: Path, photos: Path) -> list[Row]:
    root = init_workspace(work / "login", web={"trusted_proxies": ["127.0.0.1"]})
    rows = []
    with serving(root, PASSWORD) as server:
        say("  100 wrong passwords at once")
        codes = at_once([lambda: login(server.url, "wrong").status_code] * 100)
        rows.append(
            Row(
                "login: 100 wrong at once",
                "<= 10 x 401, the rest 429",
                counts(codes),
                codes.count(401) <= 10 and codes.count(401) + codes.count(429) == 100,
            )
        )
        say("  59 wrong and the right one at once, from the same address")
        right: list[int] = []

        def the_right_one() -> int:
            time.sleep(0.05)  # sent while the 59 are in flight
            right.append(login(server.url, PASSWORD).status_code)
            return right[-1]

        codes = at_once([lambda: login(server.url, "wrong").status_code] * 59 + [the_right_one])
        rows.append(
            Row(
                "login: 59 wrong + right, one address",
                "right one 429 (backed off)",
                f"right one {right[0] if right else 'no answer'}; wrong: {counts(codes[:59])}",
                bool(right) and right[0] == 429,
            )
        )
        say("  the right one from another address behind the trusted proxy")
        answer = login(server.url, PASSWORD, forwarded_for="198.51.100.7")
        rows.append(
            Row(
                "login: right one, other address (XFF)",
                "200",
                f"{answer.status_code} {short(answer.text, 50)}",
                answer.status_code == 200,
            )
        )
    return rows


def _logged_in(url: str, password: str) -> tuple[str, str]:
    answer = login(url, password)
    cookie = answer.cookies.get(COOKIE)
    if answer.status_code != 200 or not cookie:
        raise RuntimeError(f"logging in failed: {answer.status_code} {short(answer.text, 60)}")
    return cookie, answer.json()["csrf_token"]


def _with_cookie(url: str, cookie: str, csrf: str | None = None, post: bool = False) -> int:
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    if post:
        body = {"name": f"Probe {time.monotonic_ns()}"}
        return httpx.post(
            f"{url}/api/v1/people", json=body, headers=headers, timeout=30
        ).status_code
    return httpx.get(f"{url}/api/v1/jobs", headers=headers, timeout=30).status_code


def probe_cookies(work: Path, photos: Path) -> list[Row]:
    root = init_workspace(work / "cookies")
    rows = []
    with serving(root, PASSWORD) as server:
        say("  log in, keep the cookie, log out, use it again")
        cookie, csrf = _logged_in(server.url, PASSWORD)
        before = _with_cookie(server.url, cookie)
        headers = {"Cookie": f"{COOKIE}={cookie}", "X-CSRF-Token": csrf}
        out = httpx.post(f"{server.url}/api/v1/logout", headers=headers, timeout=30).status_code
        after = _with_cookie(server.url, cookie)
        rows.append(
            Row(
                "cookies: kept past logout",
                "401",
                f"{after} (before logout {before}, logout {out})",
                before == 200 and after == 401,
            )
        )
        say("  log in, keep the cookie, restart with a new password")
        cookie, csrf = _logged_in(server.url, PASSWORD)
    with serving(root, NEW_PASSWORD) as server:
        read = _with_cookie(server.url, cookie)
        write = _with_cookie(server.url, cookie, csrf, post=True)
        rows.append(
            Row(
                "cookies: kept past a password change",
                "GET 401, POST with its CSRF token 401",
                f"GET {read}, POST {write}",
                read == 401 and write in (401, 403),
            )
        )
    return rows


def probe_imports(work: Path, photos: Path) -> list[Row]:
    root = init_workspace(work / "imports")
    say(f"  two imports of {photos} at once")
    args = ["import", str(photos), "-r", "--workers", "1", "--no-group", "-w", str(root)]
    logs = [work / "import-1.log", work / "import-2.log"]
    runs = [start(*args, log=log) for log in logs]
    outcomes = [finish(process, log) for process, log in zip(runs, logs, strict=True)]
    images, faces, twice = stored(root)
    files = distinct_files(photos)
    observed = "exit " + ", ".join(str(code) for code, _ in outcomes)
    observed += f"; {images} photos of {files} files, {faces} faces, {twice} stored twice"
    failed = [last_line(err) for code, err in outcomes if code != 0]
    if failed:
        observed += f"; {short(failed[0], 70)}"
    return [
        Row(
            "imports: two at once, one workspace",
            "both exit 0, photos == files, no face twice",
            observed,
            all(code == 0 for code, _ in outcomes) and images == files and twice == 0,
        )
    ]


BAD_SETTINGS = [("min_face", -1), ("min_face", 0), ("min_face", 100000), ("detector", "cnn2")]


def probe_settings(work: Path, photos: Path, cases=BAD_SETTINGS) -> list[Row]:
    few = work / "settings-photos"
    for photo in sorted(photos.rglob("*.jpg"))[:2]:
        (few / photo.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, few / photo.parent.name)
    rows = []
    for n, (key, value) in enumerate(cases):
        say(f"  [detect] {key} = {json.dumps(value)}")
        root = init_workspace(work / f"settings-{n}", detect={key: value})
        done = run("import", str(few), "-r", "--workers", "1", "--no-group", "-w", str(root))
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        images = stored(root)[0]
        clean = "Traceback" not in done.stderr and len(lines) == 1 and key in lines[0]
        observed = f"exit {done.returncode}, {len(lines)} stderr line(s), {images} photos stored"
        observed += f": {short(lines[-1], 80)}" if lines else ""
        rows.append(
            Row(
                f"settings: {key} = {json.dumps(value)}",
                "exit 2, one line naming the key, nothing stored",
                observed,
                done.returncode == 2 and clean and images == 0,
            )
        )
    return rows


def _busy(process: subprocess.Popen, workers: int, timeout: float = 120) -> dict[int, int]:
    """Wait until `process` has at least `workers` + 1 descendants (its workers and the
    forkserver) and give them a moment to start on photos; the descendants then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        found = descendants(process.pid)
        if len(found) > workers:
            time.sleep(1.0)
            return {**found, **descendants(process.pid)}
        time.sleep(0.2)
    return {}


def _killed(process: subprocess.Popen, known: dict[int, int], what: str) -> Row:
    if not known:
        state = "finished" if process.poll() is not None else "started no workers"
        return Row(f"sigkill: {what}", "no process left 10 s on", f"{state} before the kill", False)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    left = survivors(known, process.pid, ORPHAN_GRACE)
    for pid in left:
        with suppress(OSError, ValueError):
            os.kill(int(pid.split()[0]), signal.SIGKILL)
    observed = f"{len(known)} descendants at the kill, {len(left)} alive {ORPHAN_GRACE:.0f} s on"
    if left:
        observed += ": " + short(", ".join(left), 70)
    return Row(f"sigkill: {what}", "no process left 10 s on", observed, not left)


def probe_sigkill(work: Path, photos: Path) -> list[Row]:
    rows = []
    root = init_workspace(work / "sigkill-import")
    say("  kill -9 faceloop import --workers 2")
    args = ["import", str(photos), "-r", "--workers", "2", "--no-group", "-w", str(root)]
    process = start(*args, log=work / "sigkill-import.log")
    try:
        rows.append(_killed(process, _busy(process, 2), "import --workers 2"))
    finally:
        stop(process)

    root = init_workspace(work / "sigkill-serve", **{"import": {"workers": 2}})
    say("  kill -9 faceloop serve during an upload's import")
    server = Server(root)
    try:
        upload = httpx.post(f"{server.url}/api/v1/uploads", timeout=30).json()["upload_id"]
        files = sorted(photos.rglob("*.jpg"))
        sent = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in files]
        staged = httpx.post(f"{server.url}/api/v1/uploads/{upload}/files", files=sent, timeout=120)
        staged.raise_for_status()
        job = httpx.post(
            f"{server.url}/api/v1/uploads/{upload}/import", json={"by_folder": False}, timeout=30
        )
        job.raise_for_status()
        rows.append(_killed(server.process, _busy(server.process, 2), "serve during an upload"))
    finally:
        server.stop()
    return rows


def _stream_json(port: int, megabytes: int) -> tuple[int, float]:
    """POST a JSON body of `megabytes` MB in chunks on a raw socket, reading the answer as soon
    as the server gives one (it may answer and close before the body is all sent). Returns
    (status, MB sent); status 0 when there was no answer."""
    chunk = b"a" * 2**20
    with socket.create_connection(("127.0.0.1", port), timeout=120) as conn:
        conn.sendall(
            (
                "POST /api/v1/people HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Content-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        pieces = [b'{"name": "', *([chunk] * megabytes), b'"}']
        sent = 0
        answer = b""
        try:
            for piece in pieces:
                conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
                if select.select([conn], [], [], 0)[0]:
                    answer = conn.recv(4096)
                    break
            else:
                conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        if not answer:
            with suppress(OSError):
                answer = conn.recv(4096)
    status = 0
    if answer.startswith(b"HTTP/"):
        status = int(answer.split(b" ", 2)[1])
    return status, sent / 2**20


def probe_bodies(work: Path, photos: Path, megabytes: int = 200) -> list[Row]:
    root = init_workspace(work / "bodies")
    with serving(root) as server:
        time.sleep(2)  # let the warm-up settle, so its memory is not counted as the body's
        before = rss_mb(server.pid)
        peak = [before]
        latencies: list[float] = []
        answers: list[int] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak.append(rss_mb(server.pid))
                started = time.perf_counter()
                try:
                    code = httpx.get(f"{server.url}/api/v1/health", timeout=30).status_code
                except httpx.HTTPError:
                    code = 0
                latencies.append((time.perf_counter() - started) * 1000)
                answers.append(code)
                done.wait(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        say(f"  {megabytes} MB JSON body, streamed")
        watcher.start()
        started = time.perf_counter()
        status, sent = _stream_json(server.port, megabytes)
        seconds = time.perf_counter() - started
        done.set()
        watcher.join(60)
        growth = max(peak) - before
    slowest = max(latencies, default=float("nan"))
    healthy = bool(answers) and all(code == 200 for code in answers)
    return [
        Row(
            "bodies: 200 MB JSON",
            "413, server grows < 100 MB",
            f"{status or 'no answer'} after {sent:.0f} MB in {seconds:.1f} s, "
            f"server grew {growth:.0f} MB",
            status == 413 and growth < 100,
        ),
        Row(
            "bodies: health check beside it",
            "answered 200 within 1 s each",
            f"{len(answers)} answered, {counts(answers)}, slowest {slowest:.0f} ms",
            healthy and slowest < 1000,
        ),
    ]


@contextmanager
def small_disk(where: Path, megabytes: int) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        raise RuntimeError(f"cannot mount a tmpfs (needs root): {last_line(mounted.stderr)}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)
        if os.path.ismount(where):
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path, leave_kb: int) -> Path:
    """A file taking all but `leave_kb` of the disk's free space."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize - leave_kb * 1024
    with open(filler, "wb") as handle:
        handle.truncate(0)
        block = b"\0" * 2**20
        while free > 0:
            handle.write(block[: min(free, len(block))])
            free -= len(block)
    return filler


def probe_disk(work: Path, photos: Path) -> list[Row]:
    rows = []
    with small_disk(work / "disk", 16) as disk:
        root = init_workspace(disk / "ws")
        filler = fill(disk, leave_kb=160)
        args = ["import", str(photos), "-r", "--workers", "1", "--no-group", "-w", str(root)]
        say("  import into a workspace with 160 KB free")
        full = run(*args)
        lines = [line for line in full.stderr.splitlines() if line.strip()]
        clean = "Traceback" not in full.stderr and bool(lines)
        rows.append(
            Row(
                "disk: import onto a full disk",
                "exit != 0, a clear message, no traceback",
                f"exit {full.returncode}: {short(lines[-1] if lines else '(no message)', 80)}",
                full.returncode != 0 and clean,
            )
        )
        status = run("status", "-w", str(root), timeout=120)
        rows.append(
            Row(
                "disk: workspace opens while full",
                "faceloop status exits 0",
                f"exit {status.returncode}"
                + ("" if status.returncode == 0 else f": {short(last_line(status.stderr), 80)}"),
                status.returncode == 0 and "Traceback" not in status.stderr,
            )
        )
        filler.unlink()
        say("  the same import once there is room")
        again = run(*args)
        images, _, twice = stored(root)
        files = distinct_files(photos)
        observed = f"exit {again.returncode}; {images} photos of {files} files, {twice} faces twice"
        if again.returncode:
            observed += f": {short(last_line(again.stderr), 60)}"
        rows.append(
            Row(
                "disk: rerun after freeing space",
                "exit 0, photos == files, no face twice",
                observed,
                again.returncode == 0 and images == files and twice == 0,
            )
        )
    return rows


PROBES: dict[str, Callable[[Path, Path], list[Row]]] = {
    "login": probe_login,
    "cookies": probe_cookies,
    "imports": probe_imports,
    "settings": probe_settings,
    "sigkill": probe_sigkill,
    "bodies": probe_bodies,
    "disk": probe_disk,
}


def run_probes(names: list[str], work: Path, photos: Path) -> list[Row]:
    """Each probe in turn; a probe that cannot run is one failed row saying why, and the rest
    still run."""
    rows: list[Row] = []
    _TEMPLATES["home"] = work
    for name in names:
        say(f"{name} ...")
        started = time.monotonic()
        try:
            found = PROBES[name](work, photos)
        except Exception as exc:
            found = [Row(name, "the probe runs", f"{type(exc).__name__}: {short(str(exc))}", False)]
        for row in found:
            say(f"  {'PASS' if row.passed else 'FAIL'}  {row.probe}: {row.observed}")
        say(f"  ({time.monotonic() - started:.0f} s)")
        rows.extend(found)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--probe", action="append", choices=list(PROBES), help="run only these (repeatable)"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder-per-person set")
    parser.add_argument("--photos", type=int, default=30, help="photos copied from --data")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: {args.data} is not a folder of person folders", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="faceloop-faults-"))
    try:
        photos = copy_photos(args.data, work / "photos", args.photos)
        say(f"{distinct_files(photos)} photos from {args.data} in {photos}")
        rows = run_probes(args.probe or list(PROBES), work, photos)
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(rows))
    passed = sum(r.passed for r in rows)
    print(f"\n{passed} of {len(rows)} rows pass")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
