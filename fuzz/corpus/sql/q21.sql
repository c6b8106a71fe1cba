SELECT "Cell Type", "n""genes" FROM "Cells" -- quoted names
