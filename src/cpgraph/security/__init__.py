"""Authentication, roles, purposes of access and the tamper-evident audit chain."""

from __future__ import annotations

from cpgraph.security.audit import AuditLog, AuditRecord, VerifyResult, entry_hash, verify_chain
from cpgraph.security.errors import (
    AccessError,
    AuditUnavailableError,
    AuthenticationError,
    PermissionDeniedError,
    PurposeRequiredError,
    UnknownUserError,
    UserExistsError,
)
from cpgraph.security.purpose import Purpose, parse_purpose
from cpgraph.security.roles import Role
from cpgraph.security.users import (
    Principal,
    UserInfo,
    add_user,
    authenticate,
    hash_token,
    list_users,
    revoke_user,
    rotate_token,
)

__all__ = [
    "AccessError",
    "AuditLog",
    "AuditRecord",
    "AuditUnavailableError",
    "AuthenticationError",
    "PermissionDeniedError",
    "Principal",
    "Purpose",
    "PurposeRequiredError",
    "Role",
    "UnknownUserError",
    "UserExistsError",
    "UserInfo",
    "VerifyResult",
    "add_user",
    "authenticate",
    "entry_hash",
    "hash_token",
    "list_users",
    "parse_purpose",
    "revoke_user",
    "rotate_token",
    "verify_chain",
]
