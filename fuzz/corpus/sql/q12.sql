SELECT cell_integer_id, value, ROW_NUMBER() OVER (PARTITION BY cell_integer_id ORDER BY value DESC) AS rank FROM expression
