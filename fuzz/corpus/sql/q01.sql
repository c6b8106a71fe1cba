SELECT gene_integer_id, SUM(value) FROM expression GROUP BY 1 ORDER BY 2 DESC LIMIT 10
