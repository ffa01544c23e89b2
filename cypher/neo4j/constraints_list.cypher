SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties, entityType
RETURN type, labelsOrTypes[0] AS label, properties, entityType AS entitytype,
       'OPERATIONAL' AS status
