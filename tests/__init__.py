"""The test suite is a package so helpers import as `tests.<module>` and the Alpha Vantage stub
can run as `python -m tests.support.alpha_vantage_stub`."""
