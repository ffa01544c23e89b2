// mode: write
// The last linkage run: its summary, model and spec (JSON), for explanations,
// the review queue and audits; and the highest person id it used, below which
// no new id is ever made. `name_variants` ("a|b" strings): the forename variants the
// run's model learned, which search uses as linkage does.
MERGE (m:Meta {name: 'linkage'})
SET m.run_id = $run_id, m.at = $at, m.summary = $summary, m.model = $model,
    m.spec_version = $spec_version, m.spec = $spec, m.max_person_id = $max_person_id,
    m.name_variants = $name_variants
