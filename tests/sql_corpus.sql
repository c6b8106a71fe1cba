-- The fixed query corpus of tests/sql_diff_test.py: questions the SLAF
-- documentation examples ask, written for the tables cells, genes,
-- expression and layer_<name>. Each query starts with a line "-- qNN: what
-- it asks". {placeholders} are filled per dataset (sql_diff_test.py,
-- corpus_placeholders); a query runs on every dataset that has all of its
-- placeholders. Queries with a top-level ORDER BY are compared in order, so
-- their ORDER BY is a total order of the result rows.

-- q01: all cells of one cell type
SELECT * FROM cells WHERE {ctype} = '{ctype_a}'

-- q02: cells by name, projected columns
SELECT cell_integer_id, {cellname} FROM cells WHERE {cellname} IN ('{cell_a}', '{cell_b}', 'no_such_cell')

-- q03: number of genes
SELECT COUNT(*) AS n_genes FROM genes

-- q04: counts of the tables
SELECT COUNT(*), MIN(cell_integer_id), MAX(cell_integer_id) FROM cells

-- q05: genes table size and the first gene ids
SELECT gene_integer_id, {gname} FROM genes ORDER BY gene_integer_id LIMIT 10

-- q06: cells with total counts above a threshold (from the matrix)
SELECT cell_integer_id, SUM(value) AS total FROM expression GROUP BY cell_integer_id HAVING SUM(value) > {tc}

-- q07: how many cells pass a total-counts and a genes-per-cell filter
SELECT COUNT(*) FROM (SELECT cell_integer_id, SUM(value) AS total, COUNT(*) AS n_genes FROM expression GROUP BY cell_integer_id) AS t WHERE t.total > {tc} AND t.n_genes >= {ng}

-- q08: per-cell-type cell counts and averages
SELECT {ctype}, COUNT(*) AS n, AVG({cnum}) AS avg_counts, MIN({cfloat}), MAX({cfloat}) FROM cells GROUP BY {ctype} ORDER BY n DESC, {ctype}

-- q09: per-cell-type counts over two categorical columns
SELECT {ctype}, {cat2}, COUNT(*) FROM cells GROUP BY {ctype}, {cat2}

-- q10: top genes by total expression
SELECT gene_integer_id, SUM(value) AS total FROM expression GROUP BY gene_integer_id ORDER BY total DESC, gene_integer_id LIMIT 20

-- q11: top genes by total expression, with names (join)
SELECT g.{gname}, SUM(e.value) AS total, COUNT(*) AS n_cells FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id GROUP BY g.gene_integer_id, g.{gname} ORDER BY total DESC, g.gene_integer_id LIMIT 15

-- q12: per-gene mean, sum and count in one cell type
SELECT e.gene_integer_id, AVG(e.value) AS mean, SUM(e.value) AS total, COUNT(*) AS n FROM expression e JOIN cells c ON c.cell_integer_id = e.cell_integer_id WHERE c.{ctype} = '{ctype_a}' GROUP BY e.gene_integer_id

-- q13: genes expressed in more than N cells
SELECT gene_integer_id, COUNT(*) AS n_cells FROM expression GROUP BY gene_integer_id HAVING COUNT(*) > {ncells}

-- q14: number of genes expressed in more than N cells (derived table)
SELECT COUNT(*) FROM (SELECT gene_integer_id FROM expression GROUP BY gene_integer_id HAVING COUNT(*) > {ncells}) AS t

-- q15: cells expressing a gene, by gene name
SELECT e.cell_integer_id, e.value FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE g.{gname} = '{gene_a}'

-- q16: cells expressing a gene above a value, with their names
SELECT c.{cellname}, e.value FROM genes g, expression e, cells c WHERE g.{gname} = '{gene_b}' AND g.gene_integer_id = e.gene_integer_id AND e.cell_integer_id = c.cell_integer_id AND e.value > {vhi} ORDER BY e.value DESC, c.{cellname}

-- q17: the expression of one cell by cell_integer_id
SELECT gene_integer_id, value FROM expression WHERE cell_integer_id = {cid_a}

-- q18: the expression of one cell by name, with gene names
SELECT g.{gname}, e.value FROM cells c JOIN expression e ON c.cell_integer_id = e.cell_integer_id JOIN genes g ON g.gene_integer_id = e.gene_integer_id WHERE c.{cellname} = '{cell_a}' ORDER BY e.value DESC, g.gene_integer_id

-- q19: one gene over all cells
SELECT cell_integer_id, value FROM expression WHERE gene_integer_id = {gid_a}

-- q20: one gene's summary statistics
SELECT COUNT(*), SUM(value), AVG(value), MIN(value), MAX(value), STDDEV(value), VARIANCE(value) FROM expression WHERE gene_integer_id = {gid_b}

-- q21: a submatrix: cells x genes with IN lists
SELECT cell_integer_id, gene_integer_id, value FROM expression WHERE cell_integer_id IN ({cid_a}, {cid_b}, {cid_c}) AND gene_integer_id IN ({gid_a}, {gid_b}, {gid_c}, {gid_d})

-- q22: a submatrix by names
SELECT c.{cellname}, g.{gname}, e.value FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE c.{cellname} IN ('{cell_a}', '{cell_b}') AND g.{gname} IN ('{gene_a}', '{gene_b}', '{gene_c}')

-- q23: a range of cells
SELECT cell_integer_id, COUNT(*), SUM(value) FROM expression WHERE cell_integer_id BETWEEN 10 AND 59 GROUP BY cell_integer_id ORDER BY cell_integer_id

-- q24: cells not in a range, gene range
SELECT COUNT(*), SUM(value) FROM expression WHERE cell_integer_id NOT BETWEEN 5 AND {cid_hi} AND gene_integer_id BETWEEN {gid_lo} AND {gid_hi}

-- q25: HAVING on two aggregates
SELECT {ctype}, COUNT(*) AS n, AVG({cfloat}) AS m FROM cells GROUP BY {ctype} HAVING COUNT(*) > 5 AND AVG({cfloat}) > 0.01

-- q26: COUNT(DISTINCT) genes per cell type
SELECT c.{ctype}, COUNT(DISTINCT e.gene_integer_id) AS genes, COUNT(DISTINCT e.cell_integer_id) AS cells FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY c.{ctype}

-- q27: COUNT(DISTINCT) over a small selection
SELECT COUNT(DISTINCT cell_integer_id), COUNT(DISTINCT value), COUNT(*) FROM expression WHERE gene_integer_id IN ({gid_a}, {gid_b}, {gid_c})

-- q28: CTE: per-cell totals, then their distribution
WITH totals AS (SELECT cell_integer_id, SUM(value) AS total FROM expression GROUP BY cell_integer_id) SELECT COUNT(*), MIN(total), MAX(total), AVG(total) FROM totals

-- q29: CTE joined back to cells
WITH totals AS (SELECT cell_integer_id, SUM(value) AS total, COUNT(*) AS n_genes FROM expression GROUP BY cell_integer_id) SELECT c.{ctype}, AVG(t.total), AVG(t.n_genes), COUNT(*) FROM totals t JOIN cells c ON t.cell_integer_id = c.cell_integer_id GROUP BY c.{ctype}

-- q30: two CTEs joined
WITH a AS (SELECT cell_integer_id, value AS va FROM expression WHERE gene_integer_id = {gid_a}), b AS (SELECT cell_integer_id, value AS vb FROM expression WHERE gene_integer_id = {gid_b}) SELECT a.cell_integer_id, va, vb FROM a JOIN b ON a.cell_integer_id = b.cell_integer_id

-- q31: UNION ALL of two genes' cells
SELECT 'a' AS which, cell_integer_id, value FROM expression WHERE gene_integer_id = {gid_a} UNION ALL SELECT 'b', cell_integer_id, value FROM expression WHERE gene_integer_id = {gid_b}

-- q32: UNION ALL with an ORDER BY over the union
SELECT gene_integer_id, value FROM expression WHERE cell_integer_id = {cid_a} UNION ALL SELECT gene_integer_id, value FROM expression WHERE cell_integer_id = {cid_b} ORDER BY 2 DESC, 1 LIMIT 25

-- q33: UNION ALL of aggregates
SELECT 'cells' AS t, COUNT(*) FROM cells UNION ALL SELECT 'genes', COUNT(*) FROM genes UNION ALL SELECT 'nonzeros', COUNT(*) FROM expression WHERE cell_integer_id < 100

-- q34: top-3 genes per cell type (ROW_NUMBER over a grouped CTE)
WITH s AS (SELECT c.{ctype} AS ct, e.gene_integer_id AS gene, SUM(e.value) AS total FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY c.{ctype}, e.gene_integer_id) SELECT ct, gene, total, rn FROM (SELECT ct, gene, total, ROW_NUMBER() OVER (PARTITION BY ct ORDER BY total DESC, gene) AS rn FROM s) AS r WHERE rn <= 3

-- q35: top-3 genes per cell type with RANK
WITH s AS (SELECT c.{ctype} AS ct, e.gene_integer_id AS gene, COUNT(*) AS n FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY c.{ctype}, e.gene_integer_id) SELECT ct, gene, n, rk FROM (SELECT ct, gene, n, RANK() OVER (PARTITION BY ct ORDER BY n DESC) AS rk FROM s) AS r WHERE rk <= 3

-- q36: DENSE_RANK of cells by total counts within a cell type
SELECT cell_integer_id, {ctype}, {cnum}, DENSE_RANK() OVER (PARTITION BY {ctype} ORDER BY {cnum} DESC) AS dr FROM cells

-- q37: ROW_NUMBER over all cells, no partition
SELECT {cellname}, ROW_NUMBER() OVER (ORDER BY {cfloat} DESC, cell_integer_id) AS rn FROM cells ORDER BY rn LIMIT 30

-- q38: top expressed genes in one cell (window, ties by gene id)
SELECT gene_integer_id, value, ROW_NUMBER() OVER (ORDER BY value DESC, gene_integer_id) AS rn FROM expression WHERE cell_integer_id = {cid_b}

-- q39: CASE bucketing of cells by total counts
SELECT CASE WHEN {cnum} < {cnum_q1} THEN 'low' WHEN {cnum} < {cnum_q3} THEN 'mid' ELSE 'high' END AS band, COUNT(*) AS n FROM cells GROUP BY CASE WHEN {cnum} < {cnum_q1} THEN 'low' WHEN {cnum} < {cnum_q3} THEN 'mid' ELSE 'high' END ORDER BY band

-- q40: CASE bucketing of expression values
SELECT CASE WHEN value >= {vhi} THEN 'high' WHEN value >= {vmid} THEN 'mid' ELSE 'low' END AS level, COUNT(*), SUM(value) FROM expression WHERE cell_integer_id < 200 GROUP BY CASE WHEN value >= {vhi} THEN 'high' WHEN value >= {vmid} THEN 'mid' ELSE 'low' END

-- q41: mitochondrial genes
SELECT gene_integer_id, {gname} FROM genes WHERE {gname} LIKE '{mt}' ORDER BY gene_integer_id

-- q42: genes that are not mitochondrial, case-sensitive LIKE
SELECT COUNT(*) FROM genes WHERE {gname} NOT LIKE '{mt}' AND {gname} NOT LIKE 'mt-%'

-- q43: mito fraction per cell via CASE + SUM
SELECT e.cell_integer_id, SUM(CASE WHEN g.{gname} LIKE '{mt}' THEN e.value ELSE 0 END) * 1.0 / SUM(e.value) AS mito_frac FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE e.cell_integer_id < 300 GROUP BY e.cell_integer_id

-- q44: cells with a high mito fraction
WITH m AS (SELECT e.cell_integer_id AS cell, SUM(CASE WHEN g.{gname} LIKE '{mt}' THEN e.value ELSE 0 END) AS mito, SUM(e.value) AS total FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE e.cell_integer_id < 500 GROUP BY e.cell_integer_id) SELECT cell, mito, total FROM m WHERE mito * 100.0 / total > 3.0 ORDER BY cell

-- q45: BETWEEN on a float column
SELECT cell_integer_id, {cfloat} FROM cells WHERE {cfloat} BETWEEN {cfloat_lo} AND {cfloat_hi}

-- q46: IS NULL and IS NOT NULL
SELECT COUNT(*), COUNT({cnull}), SUM(CASE WHEN {cnull} IS NULL THEN 1 ELSE 0 END) FROM cells WHERE {cnull} IS NULL OR {cnull} > {cnull_mid}

-- q47: nulls in a categorical column, grouped
SELECT {ctype}, COUNT(*), COUNT({ctype}) FROM cells GROUP BY {ctype} ORDER BY {ctype} NULLS LAST

-- q48: three-valued logic: NOT of a comparison with nulls
SELECT COUNT(*) FROM cells WHERE NOT ({cnull} > {cnull_mid})

-- q49: COALESCE over a nullable column
SELECT COALESCE({cnull}, -1) AS v, COUNT(*) FROM cells GROUP BY COALESCE({cnull}, -1) ORDER BY v

-- q50: nullable bool column in WHERE
SELECT COUNT(*), SUM({cnum}) FROM cells WHERE {cbool} AND {ctype} IS NOT NULL

-- q51: derived table with an alias, filtered outside
SELECT t.gene_integer_id, t.n FROM (SELECT gene_integer_id, COUNT(*) AS n FROM expression WHERE cell_integer_id < 100 GROUP BY gene_integer_id) AS t WHERE t.n >= 10 ORDER BY t.n DESC, t.gene_integer_id

-- q52: IN (subquery): cells expressing a gene
SELECT c.cell_integer_id, c.{cellname} FROM cells c WHERE c.cell_integer_id IN (SELECT cell_integer_id FROM expression WHERE gene_integer_id = {gid_c} AND value >= {vmid})

-- q53: NOT IN (subquery)
SELECT COUNT(*) FROM cells WHERE cell_integer_id NOT IN (SELECT cell_integer_id FROM expression WHERE gene_integer_id = {gid_a})

-- q54: IN (subquery) over genes by name pattern
SELECT e.cell_integer_id, SUM(e.value) FROM expression e WHERE e.gene_integer_id IN (SELECT gene_integer_id FROM genes WHERE {gname} LIKE '{mt}') AND e.cell_integer_id < 400 GROUP BY e.cell_integer_id

-- q55: per-gene statistics in one cell type versus the rest
SELECT e.gene_integer_id, AVG(CASE WHEN c.{ctype} = '{ctype_a}' THEN e.value END) AS in_type, AVG(CASE WHEN c.{ctype} <> '{ctype_a}' THEN e.value END) AS rest FROM expression e JOIN cells c ON c.cell_integer_id = e.cell_integer_id WHERE e.gene_integer_id IN ({gid_a}, {gid_b}, {gid_c}, {gid_d}) GROUP BY e.gene_integer_id

-- q56: arithmetic: log1p-normalized values of one cell
SELECT gene_integer_id, LN(value + 1), LOG(value + 1), SQRT(value), EXP(value / 100.0), ROUND(value * 1.0 / 3, 2) FROM expression WHERE cell_integer_id = {cid_a}

-- q57: integer division, modulo and division by zero
SELECT cell_integer_id, cell_integer_id / 7, cell_integer_id % 7, cell_integer_id / 0, cell_integer_id % 0, -cell_integer_id / 7, -cell_integer_id % 7 FROM cells WHERE cell_integer_id < 20

-- q58: casts
SELECT cell_integer_id, CAST(cell_integer_id AS DOUBLE) / 4, CAST(cell_integer_id * 2.75 AS INTEGER), CAST(cell_integer_id AS TEXT) || '-x', CAST(cell_integer_id > 5 AS INTEGER) FROM cells WHERE cell_integer_id < 12

-- q59: string functions and concatenation
SELECT LOWER({cellname}), UPPER({cellname}), {cellname} || '/' || cell_integer_id FROM cells WHERE cell_integer_id IN (0, 1, {cid_b})

-- q60: ORDER BY NULLS FIRST/LAST on a nullable column
SELECT cell_integer_id, {cnull} FROM cells ORDER BY {cnull} DESC NULLS FIRST, cell_integer_id LIMIT 40

-- q61: ORDER BY position and alias with OFFSET
SELECT {gname} AS name, gene_integer_id AS id FROM genes ORDER BY 2 DESC LIMIT 10 OFFSET 5

-- q62: DISTINCT values of a categorical column
SELECT DISTINCT {ctype} FROM cells

-- q63: DISTINCT pairs from a join
SELECT DISTINCT c.{ctype}, e.gene_integer_id FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id WHERE e.gene_integer_id IN ({gid_a}, {gid_d})

-- q64: comma join in the other order with WHERE conditions
SELECT g.{gname}, c.{cellname}, e.value FROM cells c, genes g, expression e WHERE e.cell_integer_id = c.cell_integer_id AND g.gene_integer_id = e.gene_integer_id AND e.cell_integer_id BETWEEN 3 AND 5 AND e.value >= {vmid}

-- q65: genes table columns, bool filter
SELECT gene_integer_id, {gname}, {gfloat} FROM genes WHERE {gbool} AND {gfloat} > {gfloat_mid}

-- q66: average expression of highly variable genes per cell type
SELECT c.{ctype}, AVG(e.value), COUNT(*) FROM expression e JOIN genes g ON e.gene_integer_id = g.gene_integer_id JOIN cells c ON c.cell_integer_id = e.cell_integer_id WHERE g.{gbool} = TRUE GROUP BY c.{ctype}

-- q67: a layer: per-cell sums
SELECT cell_integer_id, SUM(value), COUNT(*) FROM {layer} WHERE cell_integer_id < 50 GROUP BY cell_integer_id

-- q68: a layer joined with X on both ids
SELECT x.cell_integer_id, x.gene_integer_id, x.value, l.value FROM expression x JOIN {layer} l ON x.cell_integer_id = l.cell_integer_id AND x.gene_integer_id = l.gene_integer_id WHERE x.cell_integer_id < 10

-- q69: the float layer's statistics per gene
SELECT gene_integer_id, AVG(value), STDDEV_POP(value), VAR_POP(value), MIN(value), MAX(value) FROM {layerf} GROUP BY gene_integer_id HAVING COUNT(*) >= 3

-- q70: standard deviation and variance per cell type
SELECT {ctype}, STDDEV({cfloat}), VARIANCE({cnum}), STDDEV_SAMP({cnum}), VAR_SAMP({cfloat}) FROM cells GROUP BY {ctype}

-- q71: aggregates of no rows
SELECT COUNT(*), SUM(value), AVG(value), MIN(value), MAX(value), STDDEV(value) FROM expression WHERE cell_integer_id < 0

-- q72: an aggregate of a single row: STDDEV is NULL, STDDEV_POP 0
SELECT COUNT(*), STDDEV(value), STDDEV_POP(value), VARIANCE(value), VAR_POP(value) FROM expression WHERE cell_integer_id = {cid_a} AND gene_integer_id = {gid_cell_a}

-- q73: genes detected per cell with n_genes and a HAVING on it
SELECT cell_integer_id, COUNT(*) AS n_genes FROM expression WHERE cell_integer_id < 300 GROUP BY cell_integer_id HAVING COUNT(*) BETWEEN {ng} AND {ng_hi} ORDER BY n_genes DESC, cell_integer_id

-- q74: highest value per gene with the cell that has it (CTE + join)
WITH mx AS (SELECT gene_integer_id, MAX(value) AS top FROM expression WHERE gene_integer_id IN ({gid_a}, {gid_b}, {gid_c}) GROUP BY gene_integer_id) SELECT e.gene_integer_id, e.cell_integer_id, e.value FROM expression e JOIN mx ON e.gene_integer_id = mx.gene_integer_id AND e.value = mx.top

-- q75: co-expression of two genes (self join)
SELECT COUNT(*), SUM(a.value * b.value), AVG(a.value - b.value) FROM expression a JOIN expression b ON a.cell_integer_id = b.cell_integer_id WHERE a.gene_integer_id = {gid_a} AND b.gene_integer_id = {gid_b}

-- q76: genes shared by two cells (self join on gene)
SELECT a.gene_integer_id, a.value, b.value FROM expression a, expression b WHERE a.gene_integer_id = b.gene_integer_id AND a.cell_integer_id = {cid_a} AND b.cell_integer_id = {cid_b}

-- q77: obs columns compared with the matrix: stored totals against the sum of X
SELECT COUNT(*) FROM cells c JOIN (SELECT cell_integer_id, SUM(value) AS s FROM expression GROUP BY cell_integer_id) AS t ON t.cell_integer_id = c.cell_integer_id WHERE c.{cnum} <> t.s

-- q78: simple CASE and a searched CASE without ELSE (NULLs)
SELECT cell_integer_id, CASE {ctype} WHEN '{ctype_a}' THEN 1 WHEN '{ctype_b}' THEN 2 ELSE 0 END, CASE WHEN {cfloat} > {cfloat_hi} THEN 'hi' END FROM cells WHERE cell_integer_id < 60

-- q79: constant expressions without FROM
SELECT 1 + 2, 7 / 2, 7.0 / 2, 7 % 3, -7 / 2, 2 * 3.5, 'a' || 'b', 1 < 2, NULL IS NULL, COALESCE(NULL, 5), ABS(-3), ABS(-2.5), ROUND(2.5), ROUND(-2.5), ROUND(3.14159, 3)

-- q80: three-valued logic with literals
SELECT NULL AND FALSE, NULL OR TRUE, NOT (NULL = 1) IS NULL, 3 IN (1, 2, NULL), 3 NOT IN (1, 2, NULL), 2 IN (1, 2, NULL), NULL BETWEEN 1 AND 2

-- q81: math functions at their domain edges
SELECT LN(0), LN(-1), LOG(0), SQRT(-4), SQRT(16), LOG(2, 8), LOG(10, 1000), EXP(0), LN(EXP(2)), 1.0 / 0, 5 % 0

-- q82: total counts per batch and cell type, ordered
SELECT {cat2}, {ctype}, SUM({cnum}) AS s, COUNT(*) AS n FROM cells GROUP BY {cat2}, {ctype} ORDER BY {cat2} DESC NULLS FIRST, {ctype} ASC NULLS LAST

-- q83: per-cell-type mean expression of a named gene (DOC example)
SELECT c.{ctype}, AVG(e.value) AS mean_expr, COUNT(*) AS n FROM cells c JOIN expression e ON c.cell_integer_id = e.cell_integer_id JOIN genes g ON e.gene_integer_id = g.gene_integer_id WHERE g.{gname} = '{gene_a}' GROUP BY c.{ctype}

-- q84: marker genes: genes whose mean in one type is twice the overall mean
WITH t AS (SELECT e.gene_integer_id AS gene, AVG(CASE WHEN c.{ctype} = '{ctype_a}' THEN e.value END) AS m1, AVG(e.value) AS m FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id GROUP BY e.gene_integer_id) SELECT gene, m1, m FROM t WHERE m1 > 2 * m

-- q85: int var column aggregates
SELECT {gint} / 100 AS bin, COUNT(*), MIN({gint}), MAX({gint}) FROM genes GROUP BY {gint} / 100 ORDER BY bin

-- q86: nested derived tables
SELECT COUNT(*), MAX(n) FROM (SELECT cell, COUNT(*) AS n FROM (SELECT cell_integer_id AS cell, gene_integer_id AS gene FROM expression WHERE value >= {vmid} AND cell_integer_id < 600) AS inner_t GROUP BY cell) AS outer_t

-- q87: a cell name pattern with _ wildcard
SELECT COUNT(*) FROM cells WHERE {cellname} LIKE '{cell_like}'

-- q88: cells ordered by two keys with the string key descending
SELECT {ctype}, {cellname} FROM cells WHERE cell_integer_id < 200 ORDER BY {ctype} DESC, {cellname}

-- q89: genes by name prefix with counts of their cells
SELECT g.{gname}, COUNT(e.cell_integer_id) FROM genes g JOIN expression e ON g.gene_integer_id = e.gene_integer_id WHERE g.{gname} LIKE '{gprefix}' GROUP BY g.{gname}

-- q90: numeric-string categorical column cast to integer
SELECT CAST({numcat} AS INTEGER) AS k, COUNT(*) FROM cells GROUP BY CAST({numcat} AS INTEGER) ORDER BY k

-- q91: variance of values far from zero, per gene (sums of squares would cancel)
SELECT gene_integer_id, VARIANCE(value), STDDEV_POP(value), AVG(value), COUNT(*) FROM {layer_offset} GROUP BY gene_integer_id

-- q92: the same per cell
SELECT cell_integer_id, VAR_POP(value), STDDEV(value) FROM {layer_offset} WHERE cell_integer_id < 300 GROUP BY cell_integer_id

-- q93: the same over the whole layer
SELECT VARIANCE(value), STDDEV_POP(value), COUNT(*), SUM(value) FROM {layer_offset}

-- q94: string functions on every category (non-ASCII, empty, quotes)
SELECT {cat2}, LENGTH({cat2}), LOWER({cat2}), UPPER({cat2}), COUNT(*) FROM cells GROUP BY {cat2}

-- q95: LIKE over values holding %, _, quotes and the empty string
SELECT SUM(CASE WHEN {cat2} LIKE '50%' THEN 1 ELSE 0 END), SUM(CASE WHEN {cat2} LIKE '%''%' THEN 1 ELSE 0 END), SUM(CASE WHEN {cat2} = '' THEN 1 ELSE 0 END), SUM(CASE WHEN {cat2} LIKE '_' THEN 1 ELSE 0 END), SUM(CASE WHEN {cat2} LIKE '%' THEN 1 ELSE 0 END) FROM cells

-- q96: cells without any nonzero
SELECT cell_integer_id FROM cells WHERE cell_integer_id NOT IN (SELECT cell_integer_id FROM expression)

-- q97: genes never expressed
SELECT COUNT(*), MIN(gene_integer_id), MAX(gene_integer_id) FROM genes WHERE gene_integer_id NOT IN (SELECT gene_integer_id FROM expression)

-- q98: per-gene moments over all cells (the one-pass kernel; the gene index on gen)
SELECT gene_integer_id, VARIANCE(value), STDDEV(value), VAR_POP(value), MIN(value), MAX(value), AVG(value), SUM(value), COUNT(*) FROM expression GROUP BY gene_integer_id{notbig}

-- q99: per-cell moments
SELECT cell_integer_id, VARIANCE(value), STDDEV_POP(value), AVG(value) FROM expression WHERE cell_integer_id < 500 GROUP BY cell_integer_id

-- q100: per-gene moments joined to gene names, one cell type
SELECT g.{gname}, COUNT(*), AVG(e.value), STDDEV(e.value) FROM expression e JOIN genes g ON g.gene_integer_id = e.gene_integer_id JOIN cells c ON c.cell_integer_id = e.cell_integer_id WHERE c.{ctype} = '{ctype_a}' GROUP BY g.{gname}{notbig}

-- q101: layers with another sparsity pattern than X: entries in one and not the other
SELECT COUNT(*) FROM {layerf} l WHERE l.cell_integer_id < 200 AND l.gene_integer_id NOT IN (SELECT gene_integer_id FROM expression WHERE cell_integer_id = 3)

-- q102: genes by name, case-sensitive equality and LIKE on mixed-case names
SELECT COUNT(*), SUM(CASE WHEN {gname} LIKE 'gene%' THEN 1 ELSE 0 END), SUM(CASE WHEN LOWER({gname}) LIKE 'gene%' THEN 1 ELSE 0 END) FROM genes
