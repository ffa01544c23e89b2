"""Roles of API users."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user is for; the field policy decides what each may read."""

    INVESTIGATOR = "investigator"
    DATA_STEWARD = "data_steward"
    PARTNER_SYSTEM = "partner_system"
    AUDITOR = "auditor"
    ADMIN = "admin"
