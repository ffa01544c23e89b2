// Test-only: a read that runs for minutes unless stopped ($n × $n steps, little memory).
UNWIND range(1, $n) AS x
UNWIND range(1, $n) AS y
WITH x, y
WHERE (x + y) % 7 = 3
RETURN count(*) AS c
