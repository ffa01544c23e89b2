// mode: write
CALL db.awaitIndexes(300)
