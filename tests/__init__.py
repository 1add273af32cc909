"""The test suite is a package so helpers import as `tests.support.<module>` and the Alpha Vantage
stand-in can run as `python -m tests.support.alpha_vantage_stub`."""
