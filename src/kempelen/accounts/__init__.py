"""Users, requester and worker profiles, API credentials."""
