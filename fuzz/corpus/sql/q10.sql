WITH top AS (SELECT gene_integer_id, SUM(value) AS s FROM expression GROUP BY 1) SELECT g.gene_id, top.s FROM top JOIN genes g ON g.gene_integer_id = top.gene_integer_id ORDER BY top.s DESC LIMIT 5
