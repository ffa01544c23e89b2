// How many person-level relationships the store holds (an incremental run trusts
// its record of the last projection only when the count agrees).
MATCH ()-[r:RELATED_TO]->()
RETURN count(r) AS edges
