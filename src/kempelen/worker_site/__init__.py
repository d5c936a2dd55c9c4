"""Worker pages and the externalSubmit endpoint."""
