"""The service layer: one module per use case, each committing its unit of work once."""
