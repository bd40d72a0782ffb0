"""Errors the user can act on: the command line prints their one-line message and exits 2."""


class UserError(Exception):
    pass
