#!/usr/bin/python3
"""A TCP proxy on 127.0.0.1 that adds a fixed delay to every request.

  latency_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Bytes from the client are held DELAY_MS before they are forwarded (once per
burst: a request's headers arrive together), responses pass at once; each
connection is proxied on its own, so parallel requests overlap their delays
as they would over a real network. Used by bench/remote_bench.py to turn a
loopback nginx into a 25 ms-away server.
"""
import asyncio
import sys

LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000.0


async def pipe(reader, writer, delay):
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, server_writer, DELAY), pipe(server_reader, client_writer, 0))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    print("PROXY %d -> %d (+%d ms)" % (LISTEN, TARGET, DELAY * 1000), flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
