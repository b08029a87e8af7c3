"""Threaded escalations: the form, the case thread, its posts through the outbox, the follow-up clocks."""
