"""The daily digest's persistence: its runs (`runs`) and its set-based queries (`queries`)."""
