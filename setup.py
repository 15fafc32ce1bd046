"""One build step on top of pyproject.toml: ship the default configs and the model registry in the wheel.

``configs/*.yaml`` and ``models/registry.yaml`` stay at the top of the repository, the
source of truth; the wheel gets copies under ``pipeline/_data/`` (``configs/`` and
``registry.yaml``), which ``pipeline.core.locations`` reads when the package is
installed, so ``speechpipe`` runs from any directory.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {
    **{f"configs/{path.name}": path for path in sorted((ROOT / "configs").glob("*.yaml"))},
    "registry.yaml": ROOT / "models" / "registry.yaml",
}
"""Path under ``pipeline/_data/`` -> source file."""


class BuildPyWithData(build_py):
    """``build_py`` that also copies ``SHIPPED`` into the built package."""

    def run(self) -> None:
        super().run()
        for target, source in SHIPPED.items():
            destination = Path(self.build_lib) / "pipeline" / "_data" / target
            self.mkpath(str(destination.parent))
            self.copy_file(str(source), str(destination))


setup(cmdclass={"build_py": BuildPyWithData})
