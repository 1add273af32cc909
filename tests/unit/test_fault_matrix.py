"""The fault matrix's published page (docs/reliability.md) is the table rendered from it."""

from __future__ import annotations

from tests.support import fault_matrix


def test_reliability_page_is_the_rendered_matrix():
    assert fault_matrix.DOC.read_text() == fault_matrix.render(), (
        "docs/reliability.md is stale: run .venv/bin/python -m tests.support.fault_matrix"
    )
