"""Alert channels (generic webhook, Slack) and their reliable HTTP delivery."""
