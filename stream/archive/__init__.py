"""The archive: every live session recorded as it is relayed (no re-encoding), served as HLS
while live, and replayed afterwards with its chat and questions."""
