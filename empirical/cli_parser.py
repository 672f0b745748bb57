"""The ``vaebounds`` command line: its parser, and the settings of parsed arguments.

Every option is an entry of :mod:`empirical.inputs` (name, rule, default, meaning), so the
``--help`` texts, the checks and docs/inputs.md cannot disagree; :func:`resolve` parses the
given values by their rules into :class:`empirical.settings.Settings`. The commands themselves:
:mod:`empirical.cli_commands`; the entry point and exit codes: :mod:`empirical.cli`.
"""

from __future__ import annotations

import argparse
from typing import Any

from empirical import inputs
from empirical.settings import Settings

__all__ = ["COMMANDS", "DESCRIPTION", "UsageError", "build_parser", "resolve", "settings_from", "version"]

#: The first line of ``vaebounds --help``.
DESCRIPTION = "The ``vaebounds`` command: verify | estimate | derive | sweep | advise."
COMMANDS = {
    "verify": "train R runs, estimate the constants, compare with the bound, write a report",
    "estimate": "estimate L, sigma2 parts, M, R, Delta and the gradient SNR; write estimate.json",
    "sweep": "verify over a grid of (B, K, beta, s, C_gamma, seed); resumable",
    "derive": "print one derivation (MODEL OPTIMIZER [VARIANT]) or write derivations/*.md",
    "advise": "recommend C_gamma and the split of a budget between n, B and K from the SGD bound; "
    "--check runs the advice against the default",
}


class UsageError(ValueError):
    """Bad command-line usage (argparse's own errors are turned into this)."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, raising :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str):  # argparse would print usage and exit 2 itself
        raise UsageError(message)


def version() -> str:
    """The installed vaebounds version.

    Returns:
        The version string, or a note when running from a checkout that is not installed.
    """
    import importlib.metadata as md

    try:
        return md.version("vaebounds")
    except md.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown (not installed)"


def _help(entry: inputs.Input, allowed: str, default: Any) -> str:
    """An option's ``--help`` text: its meaning, what is allowed, its default."""
    text = f"{entry.meaning}; {allowed} (default: {entry.default_text(default)})"
    if entry.aliases:
        text += f"; {', '.join(entry.aliases)} is the same option under its former name"
    return text.replace("%", "%%")


def _add_settings(p: argparse.ArgumentParser, command: str) -> None:
    """One option per settings field; the value stays text until :func:`resolve`."""
    defaults = inputs.command_defaults(command)
    for entry in inputs.SETTINGS:
        rule = inputs.command_rule(command, entry.name)
        if isinstance(rule, inputs.Flag):  # given: the value it sets (e.g. --no-stress: False)
            p.add_argument(
                entry.flag, *entry.aliases, dest=entry.name, default=None, action="store_const",
                const=rule.when_given, help=_help(entry, rule.allowed(), defaults[entry.name]),
            )  # fmt: skip
            continue
        p.add_argument(
            entry.flag, *entry.aliases, dest=entry.name, default=None, metavar=entry.name.upper(),
            help=_help(entry, rule.allowed(), defaults[entry.name]),
        )  # fmt: skip


def _add_options(p: argparse.ArgumentParser, command: str) -> None:
    """The options of ``command`` beyond the settings."""
    for entry in inputs.COMMAND_OPTIONS[command]:
        dest = "from_report" if entry.name == "from" else entry.name
        if isinstance(entry.rule, inputs.Flag):
            p.add_argument(entry.flag, dest=dest, action="store_true", help=_help(entry, "a switch", False))
        elif entry.name == "grid":
            p.add_argument(entry.flag, dest=dest, action="append", required=True, metavar="NAME=V1,V2",
                           help=_help(entry, entry.rule.allowed(), "none, give at least one"))  # fmt: skip
        else:
            p.add_argument(entry.flag, dest=dest, default=entry.default, metavar=entry.name.upper(),
                           help=_help(entry, entry.rule.allowed(), entry.default))  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The parser of every sub-command, its options read from :mod:`empirical.inputs`.

    Returns:
        The parser; its errors raise :class:`UsageError` instead of exiting.
    """
    parser = _Parser(prog="vaebounds", description=DESCRIPTION)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for command, what in COMMANDS.items():
        p = sub.add_parser(command, help=what, description=what)
        if command != "derive":
            _add_settings(p, command)
        _add_options(p, command)
    derive = sub.choices["derive"]
    derive.description = (
        "With MODEL OPTIMIZER [VARIANT]: print that bound's derivation page, or write it alone into --out. "
        "Without: write every registered bound's page into --out (default ./derivations), as a whole."
    )
    derive.set_defaults(out=None)  # --out not given: print the one page / the default folder
    derive.add_argument("model", nargs="?", help="e.g. gaussian (with OPTIMIZER: one page)")
    derive.add_argument("optimizer", nargs="?", help="e.g. sgd, adam, adagrad")
    derive.add_argument("variant", nargs="?", help="e.g. defossez, schedule (default: the theorem's default)")
    return parser


def resolve(args: argparse.Namespace, base: dict[str, Any] | None = None) -> Settings:
    """The settings of parsed arguments.

    Each option given is parsed by its rule (for its sub-command), every other value comes from
    ``base`` (a report's settings with ``--from``) or the sub-command's defaults.

    Args:
        args: The parsed arguments of a sub-command that runs.
        base: A report's settings (``--from``), or None.

    Returns:
        The validated settings.

    Raises:
        ConfigError: A value its rule refuses, or settings that do not go together.
    """
    values = dict(base) if base is not None else inputs.command_defaults(args.command)
    if base is not None and args.model is not None:
        values.pop("source", None)  # another model: its source (built-in or a user's module) is its own
    if base is not None and args.steps is None and values.get("steps") is not None:  # the command's range
        values["steps"] = inputs.command_rule(args.command, "steps").check(
            "steps (the report's)", values["steps"]
        )
    for entry in inputs.SETTINGS:
        text = getattr(args, entry.name)
        rule = inputs.command_rule(args.command, entry.name)
        if isinstance(rule, inputs.Flag) and text is not None:
            values[entry.name] = text  # the switch's value, already a bool
        elif text is not None:
            values[entry.name] = rule.parse(entry.label, text)
    if base is not None and args.optimizer is not None and args.variant is None:
        # another optimizer than the report's: its variant is the default, not the report's
        if values["optimizer"] != base.get("optimizer"):
            values.pop("adam_variant", None)  # a report of before the rename
            values["variant"] = inputs.setting("variant").default
    settings = Settings.from_mapping(values)  # steps, batch_size, runs left None: the model's defaults
    inputs.command_rule(args.command, "steps").check("steps (--steps)", settings.steps)
    return settings


def settings_from(args: argparse.Namespace) -> Settings:
    """The validated settings of parsed arguments (no ``--from``).

    Args:
        args: The parsed arguments.

    Returns:
        :func:`resolve` without a base.
    """
    return resolve(args)
