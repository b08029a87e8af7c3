"""The `make demo` tour: the real app, served over HTTP on localhost, against local stand-ins."""
