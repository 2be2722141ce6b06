"""A bounded fuzz in the suite (the full one, 3,000 updates on both databases, is
`scripts/fuzz_updates.py`): odd updates of every kind are answered, none ends in the apology,
none is left unprocessed or unsent."""

from __future__ import annotations

import pytest

from tests.telegram.fuzz import run_fuzz

COUNT = 250


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_odd_updates_never_end_in_an_apology(
    request: pytest.FixtureRequest, database: str
) -> None:
    if database == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_schema_url")
    figures = await run_fuzz(url, database=database, count=COUNT, seed=18)
    print("\n" + figures.line())
    assert figures.updates == COUNT
    assert (figures.give_ups, figures.failed_attempts) == (0, 0), figures.line()
    assert (figures.unprocessed, figures.unsent) == (0, 0), figures.line()
