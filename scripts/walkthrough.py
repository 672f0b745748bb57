"""The README's and docs/walkthrough.md's fenced code blocks, and the walkthrough's template.

* :func:`blocks` finds every fenced block of a Markdown text with its language and the
  ``<!-- test: ... -->`` directive on the line before it (how a test runs it: ``skip: why``,
  ``slow``, ``needs: module``, ``args: ...`` appended to each ``vaebounds`` command (smaller
  sizes), ``before: command`` run first in the same folder, ``exit: N`` or ``exit: any``,
  ``drop-install`` to leave out a leading ``python -m pip install ... &&``).
* :func:`render` fills ``{{name}}`` in ``scripts/walkthrough.md.in`` from the numbers
  ``scripts/readme_figures.py`` measured (kept in ``docs/figures/walkthrough.json``), and
  :func:`with_verify_lines` puts the default run's two printed lines into the README.

tests/test_doc_blocks.py runs the blocks; tests/test_walkthrough.py checks that
docs/walkthrough.md and the README's printed lines are what these functions give.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "scripts" / "walkthrough.md.in"
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"
NUMBERS = ROOT / "docs" / "figures" / "walkthrough.json"
README = ROOT / "README.md"
#: The marker of the README's block of verify's two printed lines.
VERIFY_MARK = "<!-- verify-output: written by scripts/readme_figures.py from the default run -->"
SHELL = ("bash", "sh", "shell", "console")
_FENCE = re.compile(
    r"^(?:<!-- test: (?P<directive>.*?) -->\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)^```\s*$", re.M | re.S
)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_INSTALL = re.compile(r"^python -m pip install [^&]*&&\s*")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, its text, the line it starts on and its directive."""

    lang: str
    body: str
    line: int
    directive: dict[str, str] = field(default_factory=dict)

    @property
    def doctest(self) -> bool:
        return self.lang == "python" and self.body.lstrip().startswith(">>>")

    @property
    def exit_code(self) -> int | None:
        """The exit code every command must give (None: any)."""
        code = self.directive.get("exit", "0")
        return None if code == "any" else int(code)

    def commands(self) -> list[list[str]]:
        """The shell block's commands as argument lists, the directive's ``args`` appended to each
        ``vaebounds`` command (``drop-install``: a leading pip install left out)."""
        extra = shlex.split(self.directive.get("args", ""))
        out = []
        for line in self.body.strip().splitlines():
            if "drop-install" in self.directive:
                line = _INSTALL.sub("", line)
            argv = shlex.split(line, comments=True)
            if argv and argv[0] == "vaebounds":
                argv = argv + extra
            if argv:
                out.append(argv)
        return out

    def before(self) -> list[str]:
        return shlex.split(self.directive.get("before", ""))


def _directive(text: str | None) -> dict[str, str]:
    """``"slow; args: --steps 20; exit: 3"`` -> {"slow": "", "args": "--steps 20", "exit": "3"}."""
    out = {}
    for part in (text or "").split(";"):
        key, _, value = part.strip().partition(":")
        if key:
            out[key.strip()] = value.strip()
    return out


def blocks(text: str) -> list[Block]:
    """Every fenced block of ``text`` in order (module docstring)."""
    return [
        Block(m["lang"], m["body"], text.count("\n", 0, m.start("body")) + 1, _directive(m["directive"]))
        for m in _FENCE.finditer(text)
    ]


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def render(template: str, numbers: dict[str, str]) -> str:
    """``template`` with every ``{{name}}`` replaced by ``numbers[name]``.

    Raises:
        KeyError: a placeholder without a number (the names missing).
    """
    missing = placeholders(template) - set(numbers)
    if missing:
        raise KeyError(f"no numbers for {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: str(numbers[m[1]]), template)


def with_verify_lines(readme: str, lines: str) -> str:
    """The README with the block after :data:`VERIFY_MARK` replaced by ``lines``."""
    head, mark, tail = readme.partition(VERIFY_MARK + "\n```text\n")
    if not mark:
        raise ValueError(f"README.md has no {VERIFY_MARK!r} followed by a text block")
    _, end, rest = tail.partition("\n```\n")
    return head + mark + lines.rstrip("\n") + end + rest


def load_numbers(path: Path = NUMBERS) -> dict[str, str]:
    return json.loads(path.read_text()) if path.exists() else {}


def save_numbers(numbers: dict[str, str]) -> None:
    NUMBERS.write_text(json.dumps(numbers, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def write_all(numbers: dict[str, str]) -> None:
    """Write the numbers, docs/walkthrough.md and the README's printed lines."""
    text = render(TEMPLATE.read_text(), numbers)
    save_numbers(numbers)
    WALKTHROUGH.write_text(text)
    README.write_text(with_verify_lines(README.read_text(), numbers["d_lines"]))
