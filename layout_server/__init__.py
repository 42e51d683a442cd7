"""The layout server: plans thumbnail layouts with an OpenAI-compatible LLM or the offline
planner, validates and repairs them."""
