"""Writes a run's report directory (report.json, report.md, plots) and comparisons."""
from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import tempfile
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

from reporting import compare, html, incidents, jsontext, markdown, plots
from sim.model.errors import UserError
from sim.study.report import Report
from sim.engines.results import plain

REPORT_JSON = "report.json"


class OutputError(UserError):
    """The output directory holds something this run must not overwrite."""


def jsonable(value: Any) -> Any:
    """A copy JSON can hold: numpy scalars and arrays to Python, NaN and ±inf to null (JSON has
    no such numbers), tuples to lists, Paths to strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if is_dataclass(value) or hasattr(value, "model_dump_json"):  # a typed record, the scenario
        return jsonable(plain(value))
    if hasattr(value, "tolist"):  # numpy array or scalar
        return jsonable(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


FILE_MODE, DIR_MODE = 0o644, 0o755
MARKER = ".sessionsim"  # in every directory the tool writes: {"tool": "sessionsim", "kind", "name"}


def write_text(path: Path, text: str):
    """Writes through a temporary file so an interrupted run never leaves half a file; the file
    is mode 0644 like any other (mkstemp's are 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(path: Path, data: Any):
    write_text(path, jsontext.dumps(jsonable(data)))


def write_file(path: Path, text: str, force: bool = False, what: str = "file"):
    """A file the user names (schema --out): refused when it exists, unless force; written whole
    or not at all; one line when it cannot be."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a directory; expected a file name")
    if path.exists() and not force:
        raise OutputError(f"{path} already exists; refusing to overwrite it (use --force)")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {what} {path}: no directory {path.parent}")
    try:
        write_text(path, text)
    except OSError as exc:
        raise OutputError(f"cannot write {what} {path}: {exc.strerror}") from None


def _marker(directory: Path) -> dict | None:
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == "sessionsim" else None


class Claim:
    """A report directory held for one run, from before the simulation to the rename.

    The directory is the tool's only when it holds the tool's marker (.sessionsim) for the same
    kind and name, or is empty, or does not exist; anything else is refused unless force (and
    then the run's files go in beside what is there, nothing else removed). The run writes into
    a temporary directory beside it; `commit` renames that into place, and the previous report
    goes as a whole: a failed run leaves the previous report untouched, never half of each. A
    lock (.NAME.lock beside it) keeps a second run off the same directory meanwhile."""

    def __init__(self, out: Path, kind: str, name: str, force: bool = False):
        self.out, self.kind, self.name, self.force = Path(out), kind, name, force
        self.tmp: Path | None = None
        self._lock = None
        self.merge_into_foreign = False

    # -- before the run
    def __enter__(self):
        out = self.out
        if out.name in ("", ".", ".."):
            raise OutputError(f"{out}: expected a directory name for the report")
        if out.exists() and not out.is_dir():
            raise OutputError(f"{out} is not a directory; use --out to choose a directory for the report")
        parent = out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._lock = open(parent / f".{out.name}.lock", "a")
        except OSError as exc:
            raise OutputError(f"cannot write the report in {parent}: {exc.strerror}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._release()
            raise OutputError(f"another run is writing {out}; wait for it or use --out") from None
        try:
            self._check_owner()
            self.tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.tmp-"))
            os.chmod(self.tmp, DIR_MODE)
            if self.merge_into_foreign:
                probe = tempfile.NamedTemporaryFile(dir=out, prefix=".sessionsim-probe-")
                probe.close()
        except OSError as exc:
            self._cleanup()
            raise OutputError(f"cannot write the report in {parent}: {exc.strerror}") from None
        except BaseException:
            self._cleanup()
            raise
        return self

    def _check_owner(self):
        out = self.out
        if not out.exists():
            return
        try:
            entries = [p.name for p in out.iterdir()]
        except OSError as exc:
            raise OutputError(f"cannot read {out}: {exc.strerror}") from None
        if not entries:
            return
        marker = _marker(out)
        if marker and marker.get("kind") == self.kind and marker.get("name") == self.name:
            return
        if not self.force:
            what = (f"the {marker.get('kind', 'report')} of {marker.get('name')!r}" if marker
                    else "files that are not a sessionsim report")
            raise OutputError(f"{out} holds {what}; use --out to choose another directory or "
                              "--force to write there")
        self.merge_into_foreign = marker is None

    # -- after the run
    def commit(self) -> Path:
        """Renames the finished report into place; returns its directory."""
        dump_json(self.tmp / MARKER, {"tool": "sessionsim", "kind": self.kind, "name": self.name})
        out = self.out
        if self.merge_into_foreign:  # --force on a directory of other files: ours beside theirs
            for item in self.tmp.iterdir():
                target = out / item.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(item, target)
            self.tmp.rmdir()
        else:
            old = None
            if out.exists():
                old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
                os.replace(out, old / "report")
            os.replace(self.tmp, out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.tmp = None
        return out

    def _release(self):
        if self._lock is not None:
            self._lock.close()  # closing drops the lock
            self._lock = None

    def _cleanup(self):
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        self._release()

    def __exit__(self, *exc):
        self._cleanup()
        return False


def check_out_dir(out_dir: Path, scenario: str, force: bool = False):
    """Refuses a directory that is not this scenario's report (see Claim), without holding it."""
    with Claim(out_dir, "report", scenario, force):
        pass


def _write_report_files(report: Report, out_dir: Path) -> list[str]:
    """report.json (its long series bounded), report.md, report.html and the plots (inline in
    the HTML as SVG)."""
    svgs: dict[str, str] = {}
    written = plots.write_plots(report, out_dir, svgs)
    timelines = incidents.write_plots(report, out_dir, svgs)
    data = jsonable(jsontext.bounded(report.to_dict()))
    dump_json(out_dir / REPORT_JSON, data)
    text = markdown.render(report, plots=[p.name for p in written])
    write_text(out_dir / "report.md", text)
    write_text(out_dir / "report.html", html.render(report, text, svgs, data))
    return [REPORT_JSON, "report.md", "report.html"] + [p.name for p in written + timelines]


def write_report(report: Report, out_dir: Path, force: bool = False, claim: Claim | None = None) -> list[Path]:
    """Writes report.json, report.md and the plots into out_dir; returns the paths written.

    Replaces a previous report of the same scenario as a whole (a refresh); raises OutputError
    when out_dir holds anything else, unless force. With `claim` (taken before the run), writes
    through it."""
    if claim is None:
        with Claim(out_dir, "report", report.name, force) as held:
            return write_report(report, out_dir, claim=held)
    names = _write_report_files(report, claim.tmp)
    out = claim.commit()
    return [out / n for n in names]


def write_comparison(reports: list[Report], out_dir: Path, force: bool = False,
                     claim: Claim | None = None, subdirs: list[str] | None = None) -> list[Path]:
    """Writes compare.md, compare.html, compare.png and compare.json (the scenarios' headline
    metrics), and with `subdirs` each scenario's report in its own subdirectory, which
    compare.html links."""
    if claim is None:
        names = "-vs-".join(r.name for r in reports)
        with Claim(out_dir, "comparison", names, force) as held:
            return write_comparison(reports, out_dir, claim=held, subdirs=subdirs)
    tmp = claim.tmp
    for report, sub in zip(reports, subdirs or []):
        (tmp / sub).mkdir()
        _write_report_files(report, tmp / sub)
        dump_json(tmp / sub / MARKER, {"tool": "sessionsim", "kind": "report", "name": report.name})
    svgs: dict[str, str] = {}
    chart = compare.write_chart(reports, tmp, svgs)
    text = compare.render(reports)
    write_text(tmp / "compare.md", text)
    summary = [{"scenario": r.name, "architecture": r.scenario.architecture, "seed": r.seed,
                "replications": r.replications,
                "metrics": {k: v for k, v in plain(r.metrics).items() if k != "latency_ms_by_operation"},
                "objectives": r.objectives, "cost": r.cost,
                "failures": [{k: v for k, v in plain(f).items() if k != "timeline"} for f in r.failures]}
               for r in reports]
    dump_json(tmp / "compare.json", {"scenarios": summary})
    links = [f"{sub}/report.html" for sub in subdirs or []]
    write_text(tmp / "compare.html",
               html.render_comparison(text, svgs, jsonable({"scenarios": summary}), links))
    out = claim.commit()
    return [out / "compare.md", out / "compare.html", out / chart.name, out / "compare.json"]


def write_study(claim: Claim, kind: str, data: dict, text: str, plot=None, title: str = "") -> list[Path]:
    """A sweep's or a plan's directory, through the claim taken before it ran: KIND.json,
    KIND.md, KIND.html (one page, the plot inline) and the plot; `plot(out_dir, svgs)` draws it
    (None: no plot) and returns its path."""
    tmp = claim.tmp
    data = jsonable(data)
    dump_json(tmp / f"{kind}.json", data)
    write_text(tmp / f"{kind}.md", text)
    svgs: dict[str, str] = {}
    png = plot(tmp, svgs) if plot else None
    page = text + "".join(f"\n\n![{kind}]({name})" for name in svgs if f"]({name})" not in text)
    write_text(tmp / f"{kind}.html", html.render_page(title or f"sessionsim: {kind}", page, data, svgs))
    out = claim.commit()
    names = [f"{kind}.json", f"{kind}.md", f"{kind}.html"] + ([png.name] if png else [])
    return [out / name for name in names]

