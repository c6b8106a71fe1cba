SELECT * FROM genes WHERE gene_id LIKE 'MT-%' ORDER BY gene_integer_id LIMIT 20 OFFSET 5
