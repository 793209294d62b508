"""Attacks through the public interfaces against a real server and a real Redis: each test is
one thing a hostile visitor tries, and asserts that it is refused and that the event goes on."""
