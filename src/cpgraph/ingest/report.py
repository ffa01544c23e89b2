"""Load reports: rows read, loaded and quarantined per file, warnings, totals.

Reports carry counts, file names, line numbers and reason codes only — never a
cell value — so they can be printed and logged.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

#: Line numbers kept per warning code and file (enough to find them, bounded).
MAX_WARNING_LINES = 20


@dataclass(slots=True)
class FileReport:
    """Counts for one file of an extract (for FHIR: one bundle file, counted by entry).

    Invariant: ``read == loaded + quarantined``.
    """

    file: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    warnings: Counter[str] = field(default_factory=Counter)
    warning_lines: dict[str, list[int]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)

    def warn(self, code: str, line: int) -> None:
        """Count a warning (``code`` is ``reason:column``) at ``line``."""
        self.warnings[code] += 1
        lines = self.warning_lines.setdefault(code, [])
        if len(lines) < MAX_WARNING_LINES:
            lines.append(line)

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form (stored on the ``Load`` node as JSON)."""
        return {
            "file": self.file,
            "read": self.read,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "warnings": dict(sorted(self.warnings.items())),
            "errors": dict(sorted(self.errors.items())),
        }


@dataclass(slots=True)
class LoadReport:
    """What one extract load did.

    Attributes:
        load_id: ``{system}@{extracted_at}`` — the same extract always has the same id.
        status: ``completed`` or ``failed`` (``running`` while in progress).
        files: per-file counts, in load order.
        notes: extract-level warnings (unknown files, ignored FHIR resource types...).
        mentions: distinct person mentions written.
        events: distinct events written.
        relationships: stated relationships written.
        superseded: what the load replaced when it completed
            (`cpgraph.ingest.supersede.finish`): ``quarantine`` rows of earlier
            loads, stale ``address_edges``, orphan ``addresses``.
    """

    load_id: str
    system: str
    agency: str
    organisation: str
    extracted_at: str
    folder: str
    started_at: str = ""
    finished_at: str = ""
    status: str = "running"
    files: dict[str, FileReport] = field(default_factory=dict)
    notes: Counter[str] = field(default_factory=Counter)
    mentions: int = 0
    events: int = 0
    relationships: int = 0
    batches: int = 0
    seconds: float = 0.0
    superseded: dict[str, int] = field(default_factory=dict)

    def file(self, name: str) -> FileReport:
        """The report of one file, created on first use."""
        report = self.files.get(name)
        if report is None:
            report = self.files[name] = FileReport(name)
        return report

    @property
    def rows_read(self) -> int:
        """Rows read over all files."""
        return sum(f.read for f in self.files.values())

    @property
    def rows_loaded(self) -> int:
        """Rows loaded over all files."""
        return sum(f.loaded for f in self.files.values())

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined over all files."""
        return sum(f.quarantined for f in self.files.values())

    @property
    def warning_count(self) -> int:
        """Row warnings over all files plus extract-level notes."""
        return sum(sum(f.warnings.values()) for f in self.files.values()) + sum(self.notes.values())

    def files_json(self) -> str:
        """Per-file counts as the JSON string stored on the ``Load`` node."""
        return json.dumps([f.as_dict() for f in self.files.values()], sort_keys=True)


def render_report(report: LoadReport, max_files: int = 25) -> Group:
    """Render a load report as a rich table plus its warnings.

    Args:
        report: the report.
        max_files: beyond this many files (FHIR extracts have many bundles),
            the rest are summed into one row.

    Returns:
        A rich renderable (print it with ``Console().print``).
    """
    title = f"{report.system} ({report.agency}) extract of {report.extracted_at}: {report.status}"
    table = Table(title=title, title_justify="left")
    table.add_column("file")
    table.add_column("read", justify="right")
    table.add_column("loaded", justify="right")
    table.add_column("quarantined", justify="right")
    table.add_column("warnings", justify="right")
    files = list(report.files.values())
    shown, rest = files[:max_files], files[max_files:]
    for f in shown:
        table.add_row(
            f.file,
            str(f.read),
            str(f.loaded),
            str(f.quarantined) if not f.quarantined else f"[red]{f.quarantined}[/red]",
            str(sum(f.warnings.values())),
        )
    if rest:
        table.add_row(
            f"… {len(rest)} more files",
            str(sum(f.read for f in rest)),
            str(sum(f.loaded for f in rest)),
            str(sum(f.quarantined for f in rest)),
            str(sum(sum(f.warnings.values()) for f in rest)),
        )
    table.add_section()
    table.add_row(
        "total",
        str(report.rows_read),
        str(report.rows_loaded),
        str(report.rows_quarantined),
        str(report.warning_count),
        style="bold",
    )
    parts: list[Any] = [table]
    summary = (
        f"{report.mentions} person mentions, {report.events} events, "
        f"{report.relationships} stated relationships in {report.seconds:.1f}s "
        f"(load {report.load_id})"
    )
    parts.append(Text(summary))
    if any(report.superseded.values()):
        gone = report.superseded
        parts.append(
            Text(
                f"superseded: {gone.get('quarantine', 0)} quarantined rows of earlier loads, "
                f"{gone.get('address_edges', 0)} stale address links, "
                f"{gone.get('addresses', 0)} addresses nothing links to"
            )
        )
    warn_totals: Counter[str] = Counter()
    for f in files:
        for code, n in f.warnings.items():
            warn_totals[f"{f.file}: {code}"] += n
    for code, n in report.notes.items():
        warn_totals[code] += n
    if warn_totals:
        lines = [f"  {n} × {code}" for code, n in sorted(warn_totals.items())[:40]]
        parts.append(Text("warnings:\n" + "\n".join(lines), style="yellow"))
    return Group(*parts)
