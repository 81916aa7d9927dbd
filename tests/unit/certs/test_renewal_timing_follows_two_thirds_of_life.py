from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshgate.certs.rotation import expiry_warning, next_check, renewal_due, renewal_time

START = datetime(2030, 1, 1, tzinfo=UTC)
END = START + timedelta(hours=24)


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.now = at

    def advance(self, by: timedelta) -> None:
        self.now += by


def test_renewal_is_due_at_two_thirds_of_life_and_not_a_second_before() -> None:
    assert renewal_time(START, END) == START + timedelta(hours=16)
    assert not renewal_due(START, END, START + timedelta(hours=16) - timedelta(seconds=1))
    assert renewal_due(START, END, START + timedelta(hours=16))
    assert renewal_due(START, END, END + timedelta(days=1))


def test_a_certificate_without_life_is_always_due() -> None:
    assert renewal_due(START, START, START - timedelta(days=1))


def test_a_timer_following_next_check_renews_within_the_floor_of_the_due_time() -> None:
    clock = FakeClock(START)
    checks = 0
    while not renewal_due(START, END, clock.now):
        clock.advance(next_check(START, END, clock.now))
        checks += 1
        assert checks < 100
    # Hourly at most, so 16 checks reach 16 h; never past the due time by more than the floor.
    assert START + timedelta(hours=16) <= clock.now <= START + timedelta(hours=16, seconds=10)
    assert 16 <= checks <= 17


def test_next_check_waits_exactly_until_due_when_that_is_sooner_than_the_cap() -> None:
    now = START + timedelta(hours=15, minutes=30)
    assert next_check(START, END, now) == timedelta(minutes=30)


def test_next_check_is_the_floor_once_due() -> None:
    assert next_check(START, END, END) == timedelta(seconds=10)
    assert next_check(START, END, END, min_interval=timedelta(seconds=3)) == timedelta(seconds=3)


def test_next_check_is_capped() -> None:
    assert next_check(START, END, START) == timedelta(hours=1)
    assert next_check(START, END, START, max_interval=timedelta(minutes=5)) == timedelta(minutes=5)


def test_expiry_warning_fires_within_the_threshold_and_after_expiry() -> None:
    threshold = timedelta(hours=6)
    assert not expiry_warning(END, END - timedelta(hours=6, seconds=1), threshold)
    assert expiry_warning(END, END - timedelta(hours=6), threshold)
    assert expiry_warning(END, END + timedelta(hours=1), threshold)
