"""Errors for users' mistakes.

Every error a user can cause by bad input is a :class:`MilieuInputError`: its
message is one line that names the parameter (or file, or key), the value and
what is allowed.  The command line prints that line and exits with status 2,
without a traceback.
"""


class MilieuInputError(ValueError):
    """A user's input was refused before any work started."""


class ParameterError(MilieuInputError):
    """A parameter is unknown, of the wrong type, out of range, or conflicts with another."""


class WardMapError(MilieuInputError):
    """A ward floor plan cannot be used."""


class RoutineError(MilieuInputError):
    """A daily routine file cannot be used."""


class PolicyError(MilieuInputError):
    """A policy preset name or policy file cannot be used."""


class OutputError(RuntimeError):
    """An output could not be written (a full disk, a folder that became unwritable); the message is one line
    and says what was kept.  The command line prints it and exits with status 1."""
