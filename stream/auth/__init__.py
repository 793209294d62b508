"""Accounts, logins, invitations and the guards each route names.

Other parts of the platform ask :mod:`stream.http.identity` who is asking and what they may
do; this package stores the accounts and logins behind it (:mod:`stream.auth.authenticator`)
and provides the route guards the composition root mounts (:mod:`stream.auth.guards`).
"""
