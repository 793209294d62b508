"""The event programme: events, sessions, arrangers, studios, publish keys and roles."""
