// mode: write
CREATE CONSTRAINT user_token_hash IF NOT EXISTS FOR (n:User) REQUIRE n.token_hash IS UNIQUE
