SELECT gene_id || ':' || CAST(gene_integer_id AS TEXT) AS label FROM genes WHERE NOT highly_variable = TRUE
