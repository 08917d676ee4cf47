"""A tenant's Langfuse configuration: validation against Langfuse, encrypted storage,
background re-validation, and the destinations the tracing engine reads from it."""
