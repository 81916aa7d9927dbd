"""When to renew a certificate and when to warn about one. Pure arithmetic on times passed in.

Renewal at 2/3 of a certificate's life leaves a third of it (8 h of a 24 h certificate) for the
operator to be down, retry, or have its Secret write delayed before anything breaks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

RENEW_AT_FRACTION = 2 / 3
# The operator re-checks at least this often, so a missed timer tick or a clock jump costs at
# most this long; and no more often than the floor, so a broken Secret does not spin it.
MAX_CHECK_INTERVAL = timedelta(hours=1)
MIN_CHECK_INTERVAL = timedelta(seconds=10)


def renewal_time(not_before: datetime, not_after: datetime) -> datetime:
    return not_before + (not_after - not_before) * RENEW_AT_FRACTION


def renewal_due(not_before: datetime, not_after: datetime, now: datetime) -> bool:
    """True from 2/3 of the certificate's life on, and for a certificate with no life at all."""
    if not_after <= not_before:
        return True
    return now >= renewal_time(not_before, not_after)


def next_check(
    not_before: datetime,
    not_after: datetime,
    now: datetime,
    *,
    max_interval: timedelta = MAX_CHECK_INTERVAL,
    min_interval: timedelta = MIN_CHECK_INTERVAL,
) -> timedelta:
    """How long until the operator should look at this certificate again."""
    if renewal_due(not_before, not_after, now):
        return min_interval
    wait = renewal_time(not_before, not_after) - now
    return max(min_interval, min(wait, max_interval))


def expiry_warning(not_after: datetime, now: datetime, threshold: timedelta) -> bool:
    """True when the certificate expires within `threshold` (or already has): time for an Event."""
    return not_after - now <= threshold
