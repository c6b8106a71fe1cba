SELECT value * 2 + 1 / 3 % 4, (value - 1) * -2, value <> 0, value != 1, value == 2, value >= 3 FROM expression
