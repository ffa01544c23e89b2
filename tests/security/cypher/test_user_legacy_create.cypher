// mode: write
// A user as stored before token expiry existed: no expires_at.
CREATE (u:User {name: $name, role: $role, token_hash: $token_hash,
                created_at: $created_at, active: true})
RETURN u.name AS name
