SELECT cell_id FROM cells WHERE cell_integer_id IN (SELECT cell_integer_id FROM expression WHERE gene_integer_id IN (1, 2, 3))
