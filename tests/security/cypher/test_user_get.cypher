// One user by name, as stored (token hash included: the test checks it changes).
MATCH (u:User {name: $name})
RETURN u.token_hash AS token_hash, u.expires_at AS expires_at, u.revoked_at AS revoked_at
