SELECT total_counts / n_genes AS ratio FROM cells WHERE (total_counts > 1000 OR n_genes < 10) AND cell_type IS NULL ORDER BY ratio DESC
