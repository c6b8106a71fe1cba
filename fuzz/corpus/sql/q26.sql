SELECT log1p(value), sqrt(value), abs(-value), coalesce(value, 0) FROM expression LIMIT 10
