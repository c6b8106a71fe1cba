SELECT DISTINCT cell_type FROM cells WHERE n_genes BETWEEN 200 AND 2500 AND pct_counts_mt < 5.0
