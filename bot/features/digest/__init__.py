"""The daily digest of stuck customers: posted once a day and channel, with its full list."""
