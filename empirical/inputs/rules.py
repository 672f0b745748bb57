"""The rules an input's value must follow, and :class:`Input`, one entry of the inventory.

An integer in a range, a finite number in an interval, a name from a table, a non-empty
text, a switch. Each rule has ``allowed()``, ``check(name, value)`` and (but the switch)
``parse(name, text)``, documented on :class:`Whole`; ``check`` raises
:class:`~empirical.errors.ConfigError` naming the input, the value and what is allowed
(docs/inputs.md). Imports no torch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from empirical.errors import ConfigError

#: The seed limit, written 2**63 - 1 in messages.
SEED_MAX = 2**63 - 1


def shown(value: Any) -> str:
    """A value as one readable piece, for messages.

    Args:
        value: The value.

    Returns:
        ``repr(value)``, shortened to 60 characters (huge integers by their digit count).
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"a {len(str(abs(value)))}-digit integer"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------ rules


def _num_text(x: float) -> str:
    """1e6 rather than 1e+06."""
    return f"{x:g}".replace("e+0", "e").replace("e+", "e")


def _int_text(n: int) -> str:
    """10**8 for powers of ten, 2**63 - 1 for the seed limit, else the digits."""
    if n == SEED_MAX:
        return "2**63 - 1"
    power = len(str(n)) - 1
    return f"10**{power}" if n >= 10**4 and n == 10**power else str(n)


@dataclass(frozen=True)
class Whole:
    """An integer in [lo, hi] (bools refused), and the protocol every rule follows.

    Attributes:
        lo: The smallest allowed value.
        hi: The largest (None: no upper end).
    """

    lo: int
    hi: int | None

    def allowed(self) -> str:
        """What the rule allows, in words (e.g. "an integer in [1, 10**8]").

        Returns:
            The text, as messages and docs/inputs.md show it.
        """
        if self.hi is None:
            return "an integer > 0" if self.lo == 1 else f"an integer >= {self.lo}"
        return f"an integer in [{self.lo}, {_int_text(self.hi)}]"

    def check(self, name: str, value: Any) -> int:
        """A value given in Python, checked.

        Args:
            name: The input's name, for the message.
            value: The value.

        Returns:
            The value, normalised (here an int).

        Raises:
            ConfigError: A value the rule refuses.
        """
        ok = (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.lo <= value
            and (self.hi is None or value <= self.hi)
        )
        if not ok:
            raise ConfigError(f"{name} must be {self.allowed()}, got {shown(value)}")
        return int(value)

    def parse(self, name: str, text: str) -> int:
        """Command-line text, read strictly and checked (digits only: ``1e3`` or ``2.0`` refused).

        Args:
            name: The input's name, for the message.
            text: The text.

        Returns:
            The value (:meth:`check`).

        Raises:
            ConfigError: Text the rule refuses.
        """
        digits = text.strip().replace("_", "")
        if not re.fullmatch(r"[+-]?\d+", digits):
            raise ConfigError(f"{name} must be {self.allowed()}, got {shown(text)}")
        if len(digits.lstrip("+-")) > 30:
            size = len(digits.lstrip("+-"))
            raise ConfigError(f"{name} must be {self.allowed()}, got a {size}-digit integer")
        return self.check(name, int(digits))


@dataclass(frozen=True)
class Number:
    """A finite real number in (lo, hi] or [lo, hi] (``closed``); bools, NaN and inf refused.

    -0.0 is read as 0.0; ``parse`` reads what Python's ``float`` reads. The protocol of
    :class:`Whole`.

    Attributes:
        lo: The lower end.
        hi: The upper end.
        closed: Include ``lo``.
        hi_open: Exclude ``hi``.
    """

    lo: float
    hi: float
    closed: bool = False
    hi_open: bool = False

    def allowed(self) -> str:
        """What the rule allows, in words (as :meth:`Whole.allowed`)."""
        if math.isinf(self.hi) and math.isinf(self.lo):
            return "a finite number"
        if math.isinf(self.hi):
            return f"a finite number {'>=' if self.closed else '>'} {_num_text(self.lo)}"
        left = "[" if self.closed else "("
        right = ")" if self.hi_open else "]"
        return f"a finite number in {left}{_num_text(self.lo)}, {_num_text(self.hi)}{right}"

    def check(self, name: str, value: Any) -> float:
        """The value as a float, checked (as :meth:`Whole.check`)."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            try:
                x = float(value) + 0.0  # -0.0 -> 0.0; huge ints raise OverflowError
            except OverflowError:
                ok = False
        if ok:
            low_ok = x >= self.lo if self.closed else x > self.lo
            high_ok = x < self.hi if self.hi_open else x <= self.hi
            ok = math.isfinite(x) and low_ok and high_ok
        if not ok:
            raise ConfigError(f"{name} must be {self.allowed()}, got {shown(value)}")
        return x

    def parse(self, name: str, text: str) -> float:
        """The text read by ``float`` and checked (as :meth:`Whole.parse`)."""
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{name} must be {self.allowed()}, got {shown(text)}") from None
        return self.check(name, value)


@dataclass(frozen=True)
class Choice:
    """One of a table of names, or a text of one of ``forms``.

    The table is read when checked, so a name added to the table is accepted. The protocol
    of :class:`Whole`.

    Attributes:
        table: Returns the names.
        forms: Returns (what, test) pairs: a text passing ``test`` is allowed too.
        note: Said after the names (e.g. where what is not allowed here is).
    """

    table: Callable[[], tuple[str, ...]]
    forms: Callable[[], tuple[tuple[str, Callable[[str], bool]], ...]] = lambda: ()
    note: str = ""

    def allowed(self) -> str:
        """The names and forms allowed, in words (as :meth:`Whole.allowed`)."""
        names = ", ".join(self.table())
        extra = "".join(f", or {what}" for what, _ in self.forms())
        return f"one of {names}{extra}" + (f" ({self.note})" if self.note else "")

    def check(self, name: str, value: Any) -> str:
        """The value, if it is one of the names or forms (as :meth:`Whole.check`)."""
        ok = isinstance(value, str) and (
            value in self.table() or any(test(value) for _, test in self.forms())
        )
        if not ok:
            raise ConfigError(f"{name} must be {self.allowed()}; got {shown(value)}")
        return value

    def parse(self, name: str, text: str) -> str:
        """The text, if it is one of the names or forms (as :meth:`Whole.parse`)."""
        return self.check(name, text)


@dataclass(frozen=True)
class Text:
    """A non-empty text (a path or a name); the protocol of :class:`Whole`.

    Attributes:
        what: What the text is, in words (also what is allowed).
    """

    what: str

    def allowed(self) -> str:
        """``what`` (as :meth:`Whole.allowed`)."""
        return self.what

    def check(self, name: str, value: Any) -> str:
        """The value, if it is a non-empty text without NUL bytes (as :meth:`Whole.check`)."""
        if not isinstance(value, str) or not value.strip() or "\x00" in value:
            raise ConfigError(f"{name} must be {self.what}, got {shown(value)}")
        return value

    def parse(self, name: str, text: str) -> str:
        """The text, checked (as :meth:`Whole.parse`)."""
        return self.check(name, text)


def usable_path(name: str, value: Any) -> Path:
    """A value as a path that the system can look up; says nothing about existence.

    Args:
        name: The input's name, for the message.
        value: A str or a Path.

    Returns:
        The path, ``~`` expanded.

    Raises:
        ConfigError: Empty, with a NUL byte, or too long for the system.
    """
    if not isinstance(value, str | Path) or not str(value).strip() or "\x00" in str(value):
        raise ConfigError(f"{name} must be a path, got {shown(value)}")
    path = Path(value).expanduser()
    try:
        path.exists()
    except OSError as err:  # e.g. "File name too long"
        raise ConfigError(f"{name} {shown(str(value))} is not a usable path ({err.strerror})") from None
    return path


@dataclass(frozen=True)
class Flag:
    """An on/off switch: given on the command line, the value becomes ``when_given``.

    True: a switch that turns something on (``--quiet``); False: one that turns something
    off (``--no-stress``, whose setting is on unless it is given). ``check`` as
    :class:`Whole`'s.
    """

    when_given: bool = True

    def allowed(self) -> str:
        """The text "a switch (off unless given)" or "(on unless given)" (as :meth:`Whole.allowed`)."""
        return "a switch (off unless given)" if self.when_given else "a switch (on unless given)"

    def check(self, name: str, value: Any) -> bool:
        """The value, if it is True or False (as :meth:`Whole.check`)."""
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be True or False, got {shown(value)}")
        return value


Rule = Whole | Number | Choice | Text | Flag


@dataclass(frozen=True)
class Input:
    """One input of the inventory.

    Attributes:
        name: The settings field or argument.
        rule: Its rule.
        default: Its default (None: ``unset`` says what happens then).
        meaning: What it is, in words.
        flag: Its command-line flag, if any.
        optional: None is allowed.
        unset: What happens when it is left unset.
        aliases: The flag's former names, still accepted.
    """

    name: str
    rule: Rule
    default: Any
    meaning: str
    flag: str | None = None
    optional: bool = False
    unset: str = ""
    aliases: tuple[str, ...] = ()

    def check(self, value: Any, where: str | None = None) -> Any:
        """A value checked against the rule (None passes when optional).

        Args:
            value: The value.
            where: The name in the message (default :attr:`label`).

        Returns:
            The value, normalised by the rule.

        Raises:
            ConfigError: A value the rule refuses.
        """
        if value is None and self.optional:
            return None
        return self.rule.check(where or self.label, value)

    @property
    def label(self) -> str:
        """How messages name the input, e.g. ``K (--samples)``."""
        return f"{self.name} ({self.flag})" if self.flag else self.name

    def default_text(self, default: Any = "inherit") -> str:
        """A default as docs/inputs.md shows it.

        Args:
            default: The default to show ("inherit": the input's own).

        Returns:
            The value as text, "off" for False, ``unset`` (or "none") for None.
        """
        value = self.default if default == "inherit" else default
        if value is None:
            return self.unset or "none"
        if isinstance(value, bool):
            return "on" if value else "off"
        return str(value)
