SELECT CAST(value AS INTEGER), CAST(cell_integer_id AS DOUBLE PRECISION), CAST(gene_id AS VARCHAR(20)) FROM expression, genes
