MATCH (u:User {token_hash: $token_hash})
WHERE u.active IS NULL OR u.active = true
RETURN u.name AS name, u.role AS role
LIMIT 1
