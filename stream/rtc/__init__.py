"""WebRTC plumbing shared by ingest (WHIP) and playback (WHEP): ICE, SDP, peers, HTTP resources."""
