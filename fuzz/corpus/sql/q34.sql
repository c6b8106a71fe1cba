SELECT value FROM expression WHERE value > 1 AND (gene_integer_id = 3 OR gene_integer_id = 4
