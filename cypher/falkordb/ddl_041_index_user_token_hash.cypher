// mode: write
CREATE INDEX FOR (n:User) ON (n.token_hash)
