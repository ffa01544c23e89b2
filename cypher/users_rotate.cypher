// mode: write
// Replace a live user's token (the old hash stops matching at once) and its
// expiry. No row: no such user, or the user is revoked.
MATCH (u:User {name: $name})
WHERE (u.active IS NULL OR u.active = true) AND u.revoked_at IS NULL
SET u.token_hash = $token_hash, u.expires_at = $expires_at, u.rotated_at = $at
RETURN u.name AS name
