"""Workflows as data: what a workflow shows and asks for (`definitions`) and how an admin edits,
exports and imports it (`admin`)."""
