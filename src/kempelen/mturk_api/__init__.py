"""The AWS JSON 1.1 adapter serving MTurk's Requester API."""
