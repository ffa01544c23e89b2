// The user a token hash belongs to (indexed on User.token_hash), unless revoked;
// expiry is checked by the caller (a user made before expiry existed has none).
MATCH (u:User {token_hash: $token_hash})
WHERE (u.active IS NULL OR u.active = true) AND u.revoked_at IS NULL
RETURN u.name AS name, u.role AS role, u.created_at AS created_at,
       u.expires_at AS expires_at
LIMIT 1
