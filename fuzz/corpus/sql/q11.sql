EXPLAIN SELECT COUNT(*) FROM expression WHERE value > 2.5e0
