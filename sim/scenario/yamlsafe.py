"""Safe YAML: user-written text in, plain data with line numbers out.

Scenario files are untrusted input written by hand, so reading one must never run code, never
blow up memory and never lose track of where a value came from. This module parses YAML with
PyYAML's *composer* only (``yaml.compose`` with ``SafeLoader``), checks the node tree, and builds
plain Python data from it itself:

- only the standard tags (str, int, float, bool, null, timestamp, seq, map) are allowed, so
  ``!!python/object/apply:...`` and custom ``!tags`` are refused, not constructed;
- the size of the tree *after* alias expansion is computed on the un-expanded graph (with
  memoisation) and refused above :data:`MAX_NODES`, so alias bombs ("billion laughs") are stopped
  before anything is expanded; recursive aliases are refused;
- duplicate mapping keys, files over :data:`MAX_BYTES`, binary or non-UTF-8 bytes and empty files
  are errors (PyYAML itself silently keeps the last duplicate);
- mapping keys are kept as the text the user wrote (always ``str``); merge keys (``<<``) are
  refused because they hide where a value comes from;
- numbers in exponent notation that YAML 1.1 (PyYAML) would silently read as text - ``1e6``,
  ``2.5e3``, ``1e-3`` - are floats, as in YAML 1.2; where text is expected (a title) the scenario
  reads them back as written (:class:`ExponentFloat`).

The result is a :class:`Document`: the data plus the 1-based line of every key path, e.g.
``lines[("events", 2, "share")] == 14``. Every problem is a
:class:`~sim.scenario.errors.ScenarioError` with file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.scenario.errors import ScenarioError

#: Largest file accepted, in bytes.
MAX_BYTES = 1 << 20
#: Largest number of nodes the document may have once aliases are expanded.
MAX_NODES = 100_000
#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 50

#: A position in the data: mapping keys (str) and sequence indices (int).
KeyPath = tuple[str | int, ...]

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
_ALLOWED_TAGS = _SCALAR_TAGS | {_STD + "seq", _STD + "map"}
#: A plain scalar YAML 1.2 reads as a float but YAML 1.1 (PyYAML) as text: ``1e6``, ``2.5e3``.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")
#: Characters YAML does not allow in a stream (as PyYAML's reader), found in one pass.
#: UTF-16 surrogates: escapes can put them in a YAML string, but UTF-8 cannot encode them.
SURROGATE = re.compile("[\ud800-\udfff]")
_NON_PRINTABLE = re.compile(
    "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]"
)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, also resolving YAML 1.2 exponent floats (used to compose only)."""


_Loader.add_implicit_resolver(_STD + "float", _EXPONENT_FLOAT, list("-+0123456789."))


class ExponentFloat(float):
    """A float written like ``1e6``: YAML 1.1 (and PyYAML's dumper) would take it for text.

    It is a number wherever a number is expected; where text is expected (a name, a title, a
    note) :attr:`text` gives back what was written, so a file PyYAML dumped with
    ``title: 1e5`` still reads as it was meant.
    """

    text: str

    def __new__(cls, text: str) -> ExponentFloat:
        """Make the float ``float(text)`` that remembers ``text``."""
        value = super().__new__(cls, text)
        value.text = text
        return value


@dataclass(frozen=True)
class Document:
    """Plain data parsed from YAML, with the line of every key path.

    Attributes:
        data: dict / list / str / int / float / bool / None / datetime.date, nested.
        lines: key path -> 1-based line (mapping keys: the key's line; list items: the
            item's first line). The root ``()`` is always present.
        file: the file name used in error messages.

    """

    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    file: str = "<string>"

    def line_of(self, path: KeyPath) -> int | None:
        """Return the line of ``path``, or of its nearest enclosing key that has one."""
        for n in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                return line
        return None


def read_yaml(path: str | os.PathLike[str], *, label: str | None = None) -> Document:
    """Read and parse a YAML file safely.

    Args:
        path: the file to read.
        label: the name to use for the file in error messages (default: ``path`` as given).

    Returns:
        The parsed :class:`Document`.

    Raises:
        ScenarioError: the file is missing, unreadable, too large, binary, not UTF-8, empty, or
            not safe, well-formed YAML.

    """
    name = label if label is not None else os.fspath(path)
    file = Path(path)
    try:
        if file.is_dir():
            raise ScenarioError("is a directory, not a scenario file", file=name)
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise ScenarioError(f"file is too large ({size} bytes; at most {MAX_BYTES})", file=name)
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError("no such file", file=name) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file ({exc.strerror or exc})", file=name) from None
    return parse_yaml(raw, file=name)


def parse_yaml(text: str | bytes, *, file: str = "<string>") -> Document:
    """Parse YAML text (or UTF-8 bytes) safely into a :class:`Document`.

    Args:
        text: the YAML source.
        file: the name to use in error messages.

    Raises:
        ScenarioError: see :func:`read_yaml`.

    """
    source = _decode(text, file) if isinstance(text, bytes) else text
    if len(source.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ScenarioError(f"text is too large (at most {MAX_BYTES} bytes)", file=file)
    _check_characters(source, file)
    root = _compose(source, file)
    if root is None:
        raise ScenarioError("file is empty (a scenario needs at least `name` and `period`)",
                            file=file, line=1)
    _check_size(root, file)
    builder = _Builder(file)
    data = builder.build(root, (), 0)
    builder.lines.setdefault((), root.start_mark.line + 1)
    return Document(data=data, lines=builder.lines, file=file)


def format_path(path: KeyPath) -> str:
    """Format a key path as users read it: ``events[2].share``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _decode(raw: bytes, file: str) -> str:
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ScenarioError("binary data (NUL bytes), not YAML text", file=file, line=line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save the file"
            " as UTF-8",
            file=file, line=line,
        ) from None


def _check_characters(text: str, file: str) -> None:
    match = _NON_PRINTABLE.search(text)
    if match:
        code = ord(match.group())
        raise ScenarioError(
            f"binary data or control character U+{code:04X}, not YAML text",
            file=file, line=text.count("\n", 0, match.start()) + 1,
        )


def _compose(text: str, file: str) -> Node | None:
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [text for text in (exc.context, exc.problem) if text]
        problem = ", ".join(parts) or "malformed YAML"
        if "'\\t'" in problem:  # the most common beginner's mistake
            problem += " (indent with spaces, not tabs)"
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(f"invalid YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise ScenarioError(f"nested too deeply (at most {MAX_DEPTH} levels)", file=file) from None
    except (ValueError, OverflowError) as exc:  # e.g. "\U00110000": chr() out of range
        problem = ("an escape beyond the last character, U+10FFFF" if "chr()" in str(exc)
                   else str(exc))
        raise ScenarioError(f"invalid YAML: {problem}", file=file,
                            line=loader.get_mark().line + 1) from None
    finally:
        loader.dispose()


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_size(root: Node, file: str) -> None:
    """Refuse recursive aliases and documents that would expand beyond MAX_NODES."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        line = node.start_mark.line + 1
        if key in active:
            raise ScenarioError("recursive alias (an anchor used inside itself)",
                                file=file, line=line)
        if depth > MAX_DEPTH:
            raise ScenarioError(f"nested too deeply (at most {MAX_DEPTH} levels)",
                                file=file, line=line)
        active.add(key)
        total = 1 + sum(size(child, depth + 1) for child in _children(node))
        active.discard(key)
        if total > MAX_NODES:
            raise ScenarioError(
                f"document too large once aliases are expanded (more than {MAX_NODES} values;"
                " alias bomb?)",
                file=file, line=line,
            )
        sizes[key] = total
        return total

    size(root, 0)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag


class _Builder:
    """Builds plain data from a checked node tree, recording the line of each key path."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        self._scalars = yaml.SafeLoader("")

    def error(self, problem: str, node: Node, path: KeyPath) -> ScenarioError:
        return ScenarioError(problem, file=self.file, line=node.start_mark.line + 1,
                             key=format_path(path) or None)

    def build(self, node: Node, path: KeyPath, depth: int) -> Any:
        if node.tag not in _ALLOWED_TAGS:
            raise self.error(
                f"YAML tag {_tag_name(node.tag)} is not allowed (scenario files hold plain"
                " data: text, numbers, booleans, lists and mappings)",
                node, path,
            )
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return [
                self.item(child, (*path, index), depth)
                for index, child in enumerate(node.value)
            ]
        return self.scalar(node, path)

    def item(self, node: Node, path: KeyPath, depth: int) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        return self.build(node, path, depth + 1)

    def mapping(self, node: MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path)
            line = key_node.start_mark.line + 1
            if key in first:
                raise ScenarioError(
                    f"duplicate key {key!r} (first at line {first[key]})",
                    file=self.file, line=line, key=format_path((*path, key)),
                )
            first[key] = line
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key), depth + 1)
        return out

    def key(self, node: Node, path: KeyPath) -> str:
        if not isinstance(node, ScalarNode):
            raise self.error("mapping keys must be plain names, not lists or mappings",
                             node, path)
        if node.tag == _STD + "merge":
            raise self.error("merge keys (<<) are not supported; write the keys out",
                             node, path)
        if node.tag not in _SCALAR_TAGS and node.tag != _STD + "value":
            raise self.error(f"YAML tag {_tag_name(node.tag)} is not allowed", node, path)
        self.check_text(node, path)
        return str(node.value)

    def check_text(self, node: ScalarNode, path: KeyPath) -> None:
        r"""Refuse escapes (``"\ud800"``) that make text no file or terminal can hold."""
        match = SURROGATE.search(node.value)
        if match:
            raise self.error(f"text with an unpaired surrogate U+{ord(match.group()):04X}, which"
                             " is not a character", node, path)

    def scalar(self, node: Node, path: KeyPath) -> Any:
        if node.tag == _STD + "float" and _EXPONENT_FLOAT.match(node.value):
            return ExponentFloat(node.value)
        self.check_text(node, path)
        try:
            return self._scalars.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            detail = getattr(exc, "problem", None) or str(exc)
        except Exception:  # noqa: BLE001  (``!!bool maybe``, ``!!int ""``, ``!!timestamp soon``)
            detail = ""
        text = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        if len(detail) > 60:
            detail = detail[:57] + "..."
        problem = f"invalid {_tag_name(node.tag)} value {text!r}"
        raise self.error(problem + (f" ({detail})" if detail else ""), node, path) from None
