"""One package per external service: adapter, wire types, emulator, fixtures, tests.

``networks`` imports no domain. Domains talk to a network only through
:mod:`rupor.networks.base` (the contract) and :mod:`rupor.networks.registry`.
"""
