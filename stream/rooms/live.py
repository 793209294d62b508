"""The rooms as the programme sees them: which sessions are live on this node, with how many
viewers, here and at the edges the room is relayed to (the programme, the dashboard and the
pages show it)."""

from __future__ import annotations

from stream.program.schedule import Live
from stream.rooms.room import RoomRegistry


class LiveBoard:
    def __init__(self, rooms: RoomRegistry) -> None:
        self.rooms = rooms

    def now(self) -> dict[str, Live]:
        """Each room's live state on this node, by session id."""
        return {
            room.session_id: Live(
                live=room.live, publishing=room.publisher is not None, viewers=room.audience
            )
            for room in self.rooms.all()
        }
