"""What comes in from outside: case imports (JSON and CSV), outside events, document files
checked by content, and the applicant's re-upload.

- `format`: the JSON import format (limits, field names, patterns) and reading the raw file.
- `values`: the rules one value obeys, shared by the file check and the events.
- `checks`: the whole-file check (every problem listed, nothing written) and `validate_import`.
- `importer`: `import_cases`, writing a checked file in one unit of work; `push_cases`, the
  API's idempotent push of one case or a batch.
- `events`: the outside events (`EVENTS`, `apply_event`) that advance a case.
- `hooks`, `hook_mapping`: vendors calling back with signed webhooks, and the declared mapping
  from their payloads to events.
- `csv_import`: CSV files turned into the JSON format (the admin page's import).
- `documents`: document files checked by content and stored once; `reupload`: the applicant's
  re-upload link.

docs/INTAKE.md documents the format and the events.
"""
