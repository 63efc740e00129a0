"""The kernel every hop shares: contracts and their types, settings, the lake, MySQL, errors,
personal data and the console helpers of the command lines. Load, extract, dbt, governance and
reports import it; it imports none of them."""
