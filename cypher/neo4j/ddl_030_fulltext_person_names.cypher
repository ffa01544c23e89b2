// mode: write
CREATE FULLTEXT INDEX person_names IF NOT EXISTS FOR (n:SourceRecord) ON EACH [n.name_text]
OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}}
