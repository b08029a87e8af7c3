"""Post steps to ticket: the buttons, the ticket form, posting exactly once, the template files."""
