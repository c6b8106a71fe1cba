SELECT cell_integer_id FROM expression WHERE gene_integer_id = 7 UNION ALL SELECT cell_integer_id FROM expression WHERE gene_integer_id = 8 ORDER BY 1 LIMIT 100
