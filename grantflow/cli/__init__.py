"""The ``grantflow`` command, one module per command group, assembled by :mod:`grantflow.cli.main`.

A command module imports :mod:`grantflow.cli.common` and the rooms below (client, core,
models), never :mod:`grantflow.cli.main` nor another command module.
"""
