// mode: write
CREATE CONSTRAINT review_candidate_id IF NOT EXISTS FOR (n:ReviewCandidate) REQUIRE n.candidate_id IS UNIQUE
