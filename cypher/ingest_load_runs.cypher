// How many times a load of this extract ran before ($load_id = {system}@{extracted_at});
// no row: never.
MATCH (l:Load {load_id: $load_id})
RETURN l.runs AS runs
