"""A scripted RTMP client for protocol tests: our own chunk writer and AMF, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from stream.ingest.rtmp import amf
from stream.ingest.rtmp.amf import AmfValue
from stream.ingest.rtmp.chunks import COMMAND_AMF0, ChunkReader, ChunkWriter, Message
from stream.ingest.rtmp.handshake import client_handshake
from stream.ingest.rtmp.messages import command, set_chunk_size

TIMEOUT = 5.0


@dataclass
class Command:
    name: str
    transaction: float
    args: list[AmfValue]
    stream_id: int

    @property
    def info(self) -> dict[str, AmfValue]:
        """The information object of ``_result``/``_error``/``onStatus``: the second argument."""
        value = self.args[1] if len(self.args) > 1 else None
        assert isinstance(value, dict), self
        return value


@dataclass
class RtmpTestClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    chunks: ChunkReader = field(default_factory=ChunkReader)
    out: ChunkWriter = field(default_factory=ChunkWriter)
    received: list[Message] = field(default_factory=list)
    _pending: list[Message] = field(default_factory=list)

    @classmethod
    async def open(cls, port: int, *, handshake: bool = True) -> RtmpTestClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        if handshake:
            async with asyncio.timeout(TIMEOUT):
                await client_handshake(reader, writer)
        return client

    async def send(self, message: Message, csid: int = 3) -> None:
        self.writer.write(self.out.write(csid, message))
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def call(
        self, name: str, transaction: float, *args: AmfValue, stream_id: int = 0
    ) -> None:
        await self.send(
            command(name, transaction, *args, stream_id=stream_id), 8 if stream_id else 3
        )

    async def set_chunk_size(self, size: int) -> None:
        await self.send(set_chunk_size(size), 2)
        self.out.chunk_size = size

    async def next_message(self) -> Message:
        async with asyncio.timeout(TIMEOUT):
            while not self._pending:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("server closed the connection")
                self._pending.extend(self.chunks.feed(data))
        message = self._pending.pop(0)
        self.received.append(message)
        return message

    async def next_command(self) -> Command:
        while True:
            message = await self.next_message()
            if message.type_id == COMMAND_AMF0:
                values = amf.decode_all(message.payload)
                name, transaction = values[0], values[1]
                assert isinstance(name, str)
                assert isinstance(transaction, float)
                return Command(name, transaction, values[2:], message.stream_id)

    async def closed_by_server(self, timeout: float = TIMEOUT) -> bool:
        """True if the server closes the connection within ``timeout`` (pending data is read)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True

    async def connect_app(self, app: str = "live") -> Command:
        await self.call("connect", 1, {"app": app, "type": "nonprivate", "flashVer": "FMLE/3.0"})
        return await self.next_command()

    async def start_publish(self, key: str) -> Command:
        """releaseStream, FCPublish, createStream, publish as OBS does; the final onStatus."""
        result = await self.connect_app()
        assert result.name == "_result", result
        await self.call("releaseStream", 2, None, key)
        await self.call("FCPublish", 3, None, key)
        await self.call("createStream", 4, None)
        replies = [await self.next_command() for _ in range(3)]
        created = replies[-1]
        assert created.name == "_result", replies
        assert created.transaction == 4, replies
        stream_id = created.args[1]
        assert isinstance(stream_id, float)
        await self.call("publish", 5, None, key, "live", stream_id=int(stream_id))
        return await self.next_command()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
