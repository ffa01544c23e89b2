// mode: write
CREATE CONSTRAINT sourcerecord_key IF NOT EXISTS FOR (n:SourceRecord) REQUIRE n.key IS UNIQUE
