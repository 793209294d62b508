"""Pages for people: programme, watch page, studio."""
