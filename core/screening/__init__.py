"""Screening hits: what sanctions, PEP and watchlist screenings returned for the subjects of a
case (the entity and each UBO), and the reviewers' decisions on them, kept so that a decision
sticks across rescreens and cases. `hits` records a screening (every source calls
`record_screening`), `dispositions` holds the decisions, `commands` names them for the API;
docs/SCREENING.md tells the whole story."""
