from __future__ import annotations

from hearth.index.entities import extract_entities


def keys(text: str) -> set[str]:
    return {entity.key for entity in extract_entities(text)}


def test_dates_in_any_spelling_meet() -> None:
    for spelling in ("20260714", "2026-07-14", "July 14", "14 July 2026", "Jul 14th, 2026"):
        assert "date:07-14" in keys(f"We met on {spelling} at noon."), spelling
    assert "date:2026-07-14" in keys("Time: 20260714_10:00")
    assert "date:2026-02-30" not in keys("20260230")  # not a date


def test_may_is_the_month_only_where_a_month_is_meant() -> None:
    for text in ("offers in the month of May", "by May 2026", "plans for mid-May", "In May."):
        assert "month:05" in keys(text), text
    for text in ("You may go.", "May I ask?", "It may rain in June."):
        assert "month:05" not in keys(text), text
    assert "month:06" in keys("It may rain in June.")


def test_names_are_case_and_space_insensitive() -> None:
    assert "name:lihua" in keys("Yesterday LiHua went to the market.")
    assert "name:lihua" in keys("Yesterday Li Hua went to the market.")
    assert "name:wolfgangschulz" in keys("WolfgangSchulz: See you at the gym!")


def test_sentence_initial_words_are_not_names() -> None:
    found = keys("Sounds good. Awesome! Thanks, Marguerite will bring the lamp.")
    assert "name:marguerite" in found
    assert "name:sounds" not in found
    assert "name:awesome" not in found


def test_quantities_times_and_titles() -> None:
    found = keys('The "Viva la Vida" cover cost $300 and we played at 3pm for 2 hours.')
    assert {"title:vivalavida", "quantity:300", "time:15:00", "quantity:2hours"} <= found


def test_a_time_written_against_its_date_is_found_and_pm_is_no_name() -> None:
    assert "time:17:00" in keys("Time: 20260428_17:00")
    assert "time:09:15" in keys("2026-04-28T09:15")
    assert keys("We met at 5 PM.") >= {"time:17:00"}
    assert not any(key.startswith("name:") for key in keys("We met at 5 PM."))
