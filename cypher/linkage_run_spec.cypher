// The last linkage run's spec (JSON) alone: the model beside it can be megabytes.
MATCH (m:Meta {name: 'linkage'})
RETURN m.spec AS spec
