"""What comes in from outside: case imports (JSON and CSV), outside events, document files
checked by content, and the applicant's re-upload."""
