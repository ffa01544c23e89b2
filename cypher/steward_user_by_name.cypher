// An active user by name (the terminal review checks the steward's role).
MATCH (u:User {name: $name})
WHERE u.active IS NULL OR u.active = true
RETURN u.name AS name, u.role AS role
LIMIT 1
