// mode: write
CREATE CONSTRAINT quarantinedrow_key IF NOT EXISTS FOR (n:QuarantinedRow) REQUIRE n.key IS UNIQUE
