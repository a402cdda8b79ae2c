"""One case: the status rules as data (`status`), the case's facts and stored status (`state`),
the reviewer's commands (`actions`, the service layer) and the case as a viewer sees it
(`read`)."""
