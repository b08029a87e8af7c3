"""`/reauth-check`: the listener and the answer's Block Kit (the use case is `commands.check`)."""
