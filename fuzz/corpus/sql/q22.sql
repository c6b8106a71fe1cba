/* block comment */ SELECT a.x, b.* FROM (SELECT 1 AS x) a, (SELECT 2 AS y) AS b
