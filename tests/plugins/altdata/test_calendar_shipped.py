"""The FOMC/CPI calendar kept in the repo (plain clone, no data bundle): installed into the
cache, readable by ``EventCalendar``, the same rows as the bundle's for 2020-2026, and a warning
once its update-after date has passed."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pandas as pd

from plugins.altdata.calendar import (
    CPI_FILE,
    FOMC_FILE,
    SHIPPED_DIR,
    SHIPPED_UPDATE_AFTER,
    EventCalendar,
    install_shipped_calendar,
)
from tests.conftest import bundle_dir


def test_install_when_cache_has_no_calendar_then_both_files_are_installed_and_readable(tmp_path):
    stale = install_shipped_calendar(tmp_path / "calendar", SHIPPED_UPDATE_AFTER)

    assert stale is False
    events = EventCalendar.from_dir(tmp_path / "calendar").events
    assert set(events["kind"]) == {"FOMC", "CPI"}
    assert events["event_at"].min() >= pd.Timestamp("2020-01-01", tz="UTC")
    assert events["event_at"].max().date() <= SHIPPED_UPDATE_AFTER


def test_shipped_calendar_when_compared_with_the_bundle_then_same_rows_from_2020():
    for name, column in ((FOMC_FILE, "decision_date"), (CPI_FILE, "release_date")):
        shipped = pd.read_csv(SHIPPED_DIR / name, dtype=str)
        bundle = pd.read_csv(bundle_dir() / "macro" / "calendar" / name, dtype=str)
        expected = bundle[bundle[column] >= "2020-01-01"].reset_index(drop=True)
        pd.testing.assert_frame_equal(shipped, expected)


def test_install_when_files_already_there_then_they_are_kept(tmp_path):
    folder = tmp_path / "calendar"
    folder.mkdir()
    (folder / FOMC_FILE).write_text("decision_date,meeting_start,type,source\n")

    install_shipped_calendar(folder, SHIPPED_UPDATE_AFTER)

    assert (folder / FOMC_FILE).read_text() == "decision_date,meeting_start,type,source\n"
    assert (folder / CPI_FILE).is_file()


def test_install_when_update_after_date_has_passed_then_warning_names_the_publishers(tmp_path,
                                                                                     caplog):
    caplog.set_level(logging.WARNING)

    assert install_shipped_calendar(tmp_path, SHIPPED_UPDATE_AFTER + timedelta(days=1)) is True
    assert "federalreserve.gov" in caplog.text and "bls.gov" in caplog.text
    caplog.clear()
    assert install_shipped_calendar(tmp_path, date(2026, 1, 1)) is False
    assert caplog.text == ""
