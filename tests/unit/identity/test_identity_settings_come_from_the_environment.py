"""Identity settings: defaults, the user-supplied CA Secret, and refused values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshgate.settings import IdentitySettings


def test_defaults_create_our_own_ca_and_issue_day_long_certificates() -> None:
    s = IdentitySettings.from_env({})
    assert (s.ca_secret, s.ca_supplied) == ("meshgate-ca", False)
    assert s.workload_validity == timedelta(hours=24)
    assert s.workload_warning == timedelta(hours=4)


def test_a_named_ca_secret_is_the_users() -> None:
    s = IdentitySettings.from_env({"MESHGATE_CA_SECRET": "mesh-ca-from-cert-manager"})
    assert (s.ca_secret, s.ca_supplied) == ("mesh-ca-from-cert-manager", True)


def test_short_validity_for_tests_is_read_in_seconds() -> None:
    s = IdentitySettings.from_env(
        {"MESHGATE_IDENTITY_VALIDITY_SECONDS": "30", "MESHGATE_IDENTITY_MIN_CHECK_SECONDS": "1"}
    )
    assert (s.workload_validity, s.min_check_interval) == (
        timedelta(seconds=30),
        timedelta(seconds=1),
    )


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_validity_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="MESHGATE_IDENTITY_VALIDITY_SECONDS"):
        IdentitySettings.from_env({"MESHGATE_IDENTITY_VALIDITY_SECONDS": value})


def test_ca_rotation_overlap_is_ten_minutes_unless_set_in_seconds() -> None:
    assert IdentitySettings.from_env({}).ca_rotation_overlap == timedelta(minutes=10)
    s = IdentitySettings.from_env({"MESHGATE_CA_ROTATION_OVERLAP_SECONDS": "4"})
    assert s.ca_rotation_overlap == timedelta(seconds=4)
