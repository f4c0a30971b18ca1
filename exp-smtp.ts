import { spawn } from 'node:child_process';
import nodemailer from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

const port = 52525;
const sink = spawn('/usr/sbin/smtp-sink', ['-u', 'nobody', `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const body = Buffer.alloc(20000, 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=').toString();
const lines = body.match(/.{1,76}/g)!.join('\r\n');
const msg = `From: a@b.c\r\nTo: r@example.org\r\nSubject: hi\r\nMessage-ID: <x@y>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines}\r\n`;
console.log('bytes', msg.length);
const N = 20000;
async function measure(name: string, send: () => Promise<unknown>) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (n++ < N) await send();
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  console.log(name, Math.round(N / s), 'msg/s', ((c.user + c.system) / 1000 / N).toFixed(3), 'ms CPU/msg');
}
const transport = nodemailer.createTransport({
  url: `smtp://127.0.0.1:${port}`,
  pool: true,
  maxConnections: 8,
  maxMessages: 1000,
});
await measure('transport.sendMail raw', () =>
  transport.sendMail({ envelope: { from: 'a@b.c', to: ['r@example.org'] }, raw: msg }),
);
transport.close();
const conns: any[] = [];
for (let i = 0; i < 8; i++) {
  const c = new (SMTPConnection as any)({ port, host: '127.0.0.1' });
  await new Promise<void>((res, rej) => {
    c.once('error', rej);
    c.connect(() => res());
  });
  conns.push(c);
}
const free: any[] = [...conns];
const buf = Buffer.from(msg);
await measure(
  'SMTPConnection.send',
  () =>
    new Promise<void>((res, rej) => {
      // each lane must use its own connection; emulate with a free list
      const c = free.pop()!;
      c.send({ from: 'a@b.c', to: ['r@example.org'] }, buf, (err: Error | null) => {
        free.push(c);
        err ? rej(err) : res();
      });
    }),
);
