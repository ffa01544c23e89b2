"""Field permissions of the steward API, merged into `cpgraph.graphql.policy.POLICY`.

The review queue shows person data to data stewards only, and only data stewards
decide (match decisions, merges, splits, unlinks; the service checks the role
again). Admins manage users from the command line: least privilege gives them no
say over who is whom.
"""

from __future__ import annotations

from cpgraph.security.roles import Role

STEWARD = frozenset({Role.DATA_STEWARD})
DECIDERS = STEWARD
# The catalogue of reasons a pair is kept apart holds no person data: stewards filter
# the queue by it, investigators read the same codes on a person's possible matches.
REASON_READERS = frozenset({Role.DATA_STEWARD, Role.INVESTIGATOR})

STEWARD_POLICY: dict[str, dict[str, frozenset[Role]]] = {
    "Query": {"reviewQueue": STEWARD, "keptApartReasons": REASON_READERS},
    "KeptApartReason": dict.fromkeys(("code", "description"), REASON_READERS),
    "Mutation": dict.fromkeys(
        ("decideMatch", "mergePersons", "splitPerson", "unlinkRecord"), DECIDERS
    ),
    "ReviewItem": dict.fromkeys(
        (
            "id",
            "version",
            "status",
            "probability",
            "weight",
            "consequence",
            "recordA",
            "recordB",
            "personA",
            "personB",
            "weights",
            "impact",
            "reason",
            "stale",
            "flaggedChild",
            "withinSystem",
        ),
        STEWARD,
    ),
    "MatchWeights": dict.fromkeys(("prior", "final", "probability", "steps"), STEWARD),
    "WeightStep": dict.fromkeys(("label", "level", "contribution", "cumulative"), STEWARD),
    "CandidatePerson": dict.fromkeys(
        (
            "id",
            "displayName",
            "recordKeys",
            "agencies",
            "isChild",
            "policeHistory",
            "householdSize",
            "concernCount",
        ),
        STEWARD,
    ),
    "ReviewImpact": dict.fromkeys(
        (
            "survivingPersonId",
            "retiredPersonId",
            "recordsMoved",
            "agenciesAdded",
            "relationshipsGained",
            "concernsGained",
            "reasons",
            "summary",
        ),
        STEWARD,
    ),
    "DecisionResult": dict.fromkeys(
        (
            "decisionId",
            "kind",
            "decision",
            "at",
            "user",
            "before",
            "after",
            "retired",
            "revived",
            "supersedes",
            "auditSeq",
            "candidateVersion",
        ),
        DECIDERS,
    ),
    "PersonRecords": dict.fromkeys(("personId", "recordKeys"), DECIDERS),
}

# Root fields of the steward API that read person data (a purpose is required).
STEWARD_PERSON_DATA_ROOTS = frozenset({"reviewQueue"})
