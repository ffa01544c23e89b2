// mode: write
// Revoke a user's token for good (the user stays, for the audit trail); revoking
// twice keeps the first time. No row: no such user.
MATCH (u:User {name: $name})
SET u.active = false, u.revoked_at = coalesce(u.revoked_at, $at)
RETURN u.name AS name, u.revoked_at AS revoked_at
