// The forename variants the last linkage run learned ("a|b" strings), for search.
MATCH (m:Meta {name: 'linkage'})
RETURN m.name_variants AS name_variants
