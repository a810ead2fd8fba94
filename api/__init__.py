"""The management API (`/api/v1`, bearer token) and the health endpoint."""
