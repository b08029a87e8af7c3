"""Green Button sync: each configured utility's data custodian's authorizations, read into ours."""
