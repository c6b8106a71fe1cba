SELECT e.gene_integer_id, COUNT(DISTINCT e.cell_integer_id), MAX(e.value) - MIN(e.value) FROM expression e GROUP BY e.gene_integer_id
