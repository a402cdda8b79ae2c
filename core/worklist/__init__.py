"""Many cases: views compiled to SQL (`views`), the case list with filters, search, paging and
counts (`query`), CSV export (`export`) and the Overview figures (`overview`)."""
