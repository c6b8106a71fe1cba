SELECT cell_id FROM cells WHERE cell_type NOT IN ('B cell', 'T cell') AND batch IS NOT NULL
