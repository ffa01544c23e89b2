// Every API user without the token hash: what `cpgraph users list` shows.
MATCH (u:User)
RETURN u.name AS name, u.role AS role, u.created_at AS created_at,
       u.expires_at AS expires_at, u.revoked_at AS revoked_at, u.active AS active,
       u.rotated_at AS rotated_at
ORDER BY name
