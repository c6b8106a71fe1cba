SELECT a FROM t LEFT JOIN u ON t.x = u.x
