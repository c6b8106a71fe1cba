SELECT gene_id FORM genes
