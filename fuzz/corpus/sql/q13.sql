SELECT gene_integer_id, value, RANK() OVER (ORDER BY value DESC NULLS FIRST) FROM expression WHERE cell_integer_id = 0
