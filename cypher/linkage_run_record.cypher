// mode: write
// The last linkage run: its summary and model, for explanations and audits.
MERGE (m:Meta {name: 'linkage'})
SET m.run_id = $run_id, m.at = $at, m.summary = $summary, m.model = $model,
    m.spec_version = $spec_version
