"""Block Kit construction: pure functions from results to blocks, built with slack_sdk.models.blocks."""
