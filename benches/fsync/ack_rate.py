"""JetStream acknowledgements per second on the bundled nats-server config, as shipped
(`sync_interval: always`: each acknowledged message is fsynced) and without that line (the
server's default: fsync every two minutes). A Clerk webhook is answered once its event is
acknowledged, so this bounds the rate at which the edge can accept webhooks.

Run by scripts/bench-fsync; arguments: CONFIG NATS_SERVER MESSAGES IN_FLIGHT...
"""

import asyncio
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import nats

PASSWORD = "pwbench"


async def measure(port: int, messages: int, in_flight: int) -> float:
    client = await nats.connect(f"nats://assist:{PASSWORD}@127.0.0.1:{port}")
    js = client.jetstream()
    await js.add_stream(name=f"BENCH{in_flight}", subjects=[f"bench{in_flight}.>"], storage="file")
    body = b"x" * 1500
    gate = asyncio.Semaphore(in_flight)

    async def publish(i: int) -> None:
        async with gate:
            await js.publish(f"bench{in_flight}.{i % 64}", body, headers={"Nats-Msg-Id": f"m{i}"})

    start = time.perf_counter()
    await asyncio.gather(*(publish(i) for i in range(messages)))
    rate = messages / (time.perf_counter() - start)
    await client.close()
    return rate


def start_server(binary: str, config: pathlib.Path, work: pathlib.Path) -> tuple[subprocess.Popen, int]:
    ports = work / "ports"
    ports.mkdir()
    env = dict(os.environ, ASSIST_NATS_BACKEND_PASSWORD=PASSWORD, ASSIST_NATS_PUBLIC_PASSWORD=PASSWORD + "p")
    server = subprocess.Popen(
        [binary, "-c", str(config), "-p", "-1", "-js", "-sd", str(work / "js"), "--ports_file_dir", str(ports)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(500):
        found = list(ports.glob("*.ports"))
        if found:
            return server, int(json.loads(found[0].read_text())["nats"][0].rsplit(":", 1)[1])
        time.sleep(0.01)
    server.kill()
    sys.exit("nats-server did not report its port")


def main() -> None:
    config, binary, messages = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    in_flights = [int(n) for n in sys.argv[4:]]
    shipped = config.read_text()
    variants = {
        "as shipped (sync_interval: always)": shipped,
        "without sync_interval (fsync every 2 min)": "\n".join(
            line for line in shipped.splitlines() if "sync_interval" not in line
        ),
    }
    print(f"| nats-server config | {' | '.join(f'{n} in flight' for n in in_flights)} |")
    print(f"| --- |{' --- |' * len(in_flights)}")
    for name, text in variants.items():
        with tempfile.TemporaryDirectory() as tmp:
            work = pathlib.Path(tmp)
            (work / "nats.conf").write_text(text)
            server, port = start_server(binary, work / "nats.conf", work)
            try:
                rates = [asyncio.run(measure(port, messages, n)) for n in in_flights]
            finally:
                server.terminate()
                server.wait()
        print(f"| {name} | {' | '.join(f'{r:,.0f} acks/s' for r in rates)} |")


main()
