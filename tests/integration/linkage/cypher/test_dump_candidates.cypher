// Every review candidate with its properties.
MATCH (c:ReviewCandidate)
RETURN properties(c) AS props
