"""The data-profile page of any dataset: what its tables hold, read from the lake's raw zone with PySpark.

`build_profile(dataset, lake_uri)` writes `<lake>/reports/profile-<dataset>.html`: rows per table,
null share and distinct values per column, distributions of numbers, top values of text and time
series of dates, as one self-contained HTML page (`lakehouse-report profile --dataset NAME`).
"""

from reports.profile.build import build_profile

__all__ = ["build_profile"]
