"""Compiles the text catalogues (``.po`` → ``.mo``) into the built package; see grantflow/i18n.py.

Everything else about the package is in pyproject.toml.
"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    """``build_py`` that also writes ``grantflow/locale/*/LC_MESSAGES/*.mo`` into the build."""

    def run(self) -> None:
        super().run()
        for po in Path(self.build_lib, "grantflow", "locale").glob("*/LC_MESSAGES/*.po"):
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=po.parent.parent.name)
            with po.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, catalog)


setup(cmdclass={"build_py": BuildWithCatalogues})
