// mode: write
// Names are not English prose: no stop words (a surname can be "And"), and a
// double-metaphone phonetic field so "Smyth" finds "Smith".
CALL db.idx.fulltext.createNodeIndex({label: 'SourceRecord', stopwords: []}, {field: 'name_text', phonetic: 'dm:en'})
