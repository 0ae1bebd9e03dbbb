"""One exception hierarchy. Every user-facing failure is an `SrhwError`; the CLI prints its
message on one line and exits with status 2."""
from __future__ import annotations

from dataclasses import dataclass


def printable(name: str) -> str:
    """A model-supplied name shown on one line: control characters escaped, nothing else touched."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(name))


class SrhwError(Exception):
    """Base class of every error srhw reports to a user."""


class ModelLoadError(SrhwError):
    """The file is not a loadable ONNX model."""


@dataclass(frozen=True)
class NodeProblem:
    """One offending node: which node, which op, which attribute, and what is supported."""

    node: str
    op: str
    detail: str

    def __str__(self) -> str:
        return f"node '{printable(self.node)}' ({printable(self.op)}): {self.detail}"


class UnsupportedModelError(SrhwError):
    """The model uses ops or attributes outside what srhw compiles; lists every problem."""

    def __init__(self, problems: list[NodeProblem], supported_ops: str | None = None) -> None:
        self.problems = list(problems)
        self.supported_ops = supported_ops  # said once, after the problems, when an op is unknown
        super().__init__(self._message())

    def _message(self) -> str:
        """Every node named once; problems with the same op and detail (twelve nodes of an op
        srhw lacks, say) are one entry."""
        n = len(self.problems)
        head = f"unsupported model: {n} problem{'s' if n != 1 else ''}"
        groups: dict[tuple[str, str], list[str]] = {}
        for p in self.problems:
            groups.setdefault((p.op, p.detail), []).append(p.node)
        parts = [str(NodeProblem(nodes[0], op, detail)) if len(nodes) == 1 else
                 f"nodes {', '.join(repr(printable(x)) for x in nodes)} ({printable(op)}): {detail}"
                 for (op, detail), nodes in groups.items()]
        tail = f"; supported ops (default domain): {self.supported_ops}" if self.supported_ops else ""
        return head + "; " + "; ".join(parts) + tail


class BackendError(SrhwError):
    """A hardware backend cannot build this (otherwise supported) model; the message names the
    layers and their ONNX nodes and says what the backend builds."""


class QuantizationError(SrhwError):
    """Quantization was asked for something it cannot represent."""


class FrameTooSmallError(SrhwError):
    """A frame is smaller than what the network consumes (e.g. SRCNN without padding)."""


class UsageError(SrhwError):
    """Bad command-line or API arguments."""


class ToolError(SrhwError):
    """An external tool (g++, Verilator, Yosys) failed. The CLI prints the tool's own output
    (`output`) first, then one error line naming the tool, what failed and the full log."""

    def __init__(self, tool: str, what: str, log: str | None = None, output: str = "") -> None:
        self.tool, self.log, self.output = tool, log, output
        super().__init__(f"{tool} {what}" + (f"; full log: {log}" if log else ""))
