// freePort: distinct ports below the ephemeral range, each free to listen on; an unbindable host is a clear error.
import * as net from 'net';
import { ephemeralLow, freePort } from './ports';

function listen(port: number, host = '127.0.0.1'): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('freePort', () => {
  it('hands out distinct ports below the ephemeral range, each of which can be listened on', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    const low = ephemeralLow();
    if (low - 1 - 10_000 >= 1000) for (const port of ports) expect(port).toBeLessThan(low);
    const servers = await Promise.all(ports.map((port) => listen(port)));
    await Promise.all(servers.map(close));
  });

  it('refuses, naming the host, when the address cannot be bound at all', async () => {
    await expect(freePort('192.0.2.1')).rejects.toThrow('no free TCP port on 192.0.2.1');
  });
});
