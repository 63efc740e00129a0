"""The business report as a Dataproc PySpark job: `main_python_file_uri` of the job, with the
project's archive (`python -m reports.business.archive`) in `python_file_uris`.

The cluster's Python has pyspark, matplotlib and the Google clients, not the project's CLI
libraries, so this entry reads its two options itself: `--lake gs://BUCKET/PREFIX` and, optionally,
`--show-restricted`.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    import reports
    from reports.business import build_report

    if "--lake" not in argv or argv.index("--lake") + 1 >= len(argv):
        raise SystemExit("usage: dataproc_job.py --lake gs://BUCKET/PREFIX [--show-restricted]")
    lake = argv[argv.index("--lake") + 1]
    print(f"the report's code: {reports.__file__}", flush=True)
    page = build_report(lake, show_restricted=True if "--show-restricted" in argv else None)
    print(f"business report: {page}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
