"""Evidence an examiner accepts: the audit chain's verification, checkpoints, the access log and
the examiner's case file (docs/RECORDS.md)."""
