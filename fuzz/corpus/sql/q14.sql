SELECT CASE WHEN n_genes > 1000 THEN 'high' WHEN n_genes > 200 THEN 'mid' ELSE 'low' END AS bucket, COUNT(*) FROM cells GROUP BY 1
