"""The features agents use, one package each, named in the support team's words; wired in `bot.app`."""
