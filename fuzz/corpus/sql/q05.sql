SELECT c.cell_id, e.value FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE e.gene_integer_id = 42
