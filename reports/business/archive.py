"""`python -m reports.business.archive [--out dist/lakehouse.zip]`: the project's Python packages
as one zip, what a Dataproc job gets in `python_file_uris` (next to `dataproc_job.py`)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from ingest.core.settings import REPO_ROOT

PACKAGES = ("ingest", "reports")
DATA = ("*.py", "*.yml")


def build_archive(out: Path) -> Path:
    """Every module and contract of PACKAGES, at the zip's root (so `import reports` works from it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for package in PACKAGES:
            for pattern in DATA:
                for path in sorted((REPO_ROOT / package).rglob(pattern)):
                    if "__pycache__" not in path.parts:
                        archive.write(path, path.relative_to(REPO_ROOT).as_posix())
    return out


def main() -> None:
    out = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else REPO_ROOT / "dist" / "lakehouse.zip"
    print(build_archive(out))


if __name__ == "__main__":
    main()
