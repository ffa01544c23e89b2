// The same columns and values as FalkorDB's db.constraints(): a uniqueness
// constraint is type 'UNIQUE' (Neo4j 5 says 'UNIQUENESS' before 5.7 and
// 'NODE_PROPERTY_UNIQUENESS' / 'RELATIONSHIP_UNIQUENESS' after); a Neo4j
// constraint is enforced from the moment it is created, hence 'OPERATIONAL'.
SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties, entityType
RETURN CASE WHEN type ENDS WITH 'UNIQUENESS' THEN 'UNIQUE' ELSE type END AS type,
       labelsOrTypes[0] AS label, properties, entityType AS entitytype,
       'OPERATIONAL' AS status
