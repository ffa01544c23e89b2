// mode: write
// A new API user; returns no row when the name is taken (the uniqueness
// constraint on User.name backs this up across processes). `expires_at` is when
// the token stops working (ISO, UTC).
OPTIONAL MATCH (x:User {name: $name})
WITH x WHERE x IS NULL
CREATE (u:User {name: $name, role: $role, token_hash: $token_hash,
                created_at: $created_at, expires_at: $expires_at, active: true})
RETURN u.name AS name
