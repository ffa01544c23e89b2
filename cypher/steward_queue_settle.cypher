// mode: write
// After a decision: candidates on moved records follow their records' persons.
// An undecided one whose two records now resolve to one person is settled (it
// leaves the queue); a settled one whose records are apart again reopens.
UNWIND $ids AS id
MATCH (c:ReviewCandidate {candidate_id: id})
WITH c
MATCH (a:SourceRecord {key: c.key_a})
MATCH (b:SourceRecord {key: c.key_b})
MATCH (a)-[:RESOLVES_TO]->(pa:Person)
MATCH (b)-[:RESOLVES_TO]->(pb:Person)
SET c.person_a = pa.person_id, c.person_b = pb.person_id,
    c.status = CASE
      WHEN NOT c.status IN ['open', 'deferred', 'settled'] THEN c.status
      WHEN pa.person_id = pb.person_id THEN 'settled'
      WHEN c.status = 'settled' THEN 'open'
      ELSE c.status END
RETURN c.candidate_id AS candidate_id, c.status AS status
