// The persons of steward decisions recorded at or after $since (each decision's
// persons before and after it): a steward's merge or split moves records between
// flags runs, so a scoped flags run treats them as changed.
MATCH (d:Decision)
WHERE d.at >= $since
UNWIND d.person_ids AS id
WITH DISTINCT id
RETURN collect(id) AS ids
