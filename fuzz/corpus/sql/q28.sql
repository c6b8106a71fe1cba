SELECT SUM(value) FILTER FROM expression
