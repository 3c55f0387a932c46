"""Errors that reach users of the CLI and the Python API."""

from __future__ import annotations

import click


class NscoreError(click.ClickException):
    """A problem with the user's input, model or options; the CLI exits with code 2.

    The message names the value at fault and what to do about it.
    """

    exit_code = 2


class ModelError(NscoreError):
    """A model file that is missing, unreadable or not an nscore model."""


class InputError(NscoreError):
    """An input file or column that cannot be scored as given."""
