SELECT cells.cell_id FROM cells JOIN expression ON cells.cell_integer_id = expression.cell_integer_id JOIN genes ON genes.gene_integer_id = expression.gene_integer_id WHERE genes.gene_id = 'CD3E'
