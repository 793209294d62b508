"""The bottom layer: values and helpers every capability shares (errors, validation, Redis
records, times, ids, hashing, the grant model). Nothing here knows HTTP or a capability."""
