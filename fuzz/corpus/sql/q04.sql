SELECT cell_integer_id, COUNT(*) AS n_genes, SUM(value) AS total_counts FROM expression GROUP BY cell_integer_id HAVING COUNT(*) > 200
