SELECT g.gene_id, AVG(e.value) FROM expression AS e INNER JOIN genes AS g ON g.gene_integer_id = e.gene_integer_id GROUP BY g.gene_id ORDER BY 2 DESC NULLS LAST
