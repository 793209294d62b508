"""Rooms: one per live session; fan the publisher's encoded frames out to every subscriber."""
