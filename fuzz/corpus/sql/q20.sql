(SELECT gene_id FROM genes LIMIT 3) UNION ALL (SELECT cell_id FROM cells) ORDER BY 1
